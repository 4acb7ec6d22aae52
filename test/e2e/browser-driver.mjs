// Runs the peerjs browser scenarios in headless Chromium against the built peer-signal; prints one JSON line per event.
// Meant to run inside a network namespace whose only interface is lo (test/e2e/browser.test.ts starts it that way):
//   unshare -n -- sh -c 'ip link set lo up && exec node test/e2e/browser-driver.mjs'
// stdout lines: {"event":"ready",...}, then {"event":"scenario","name":...,"ok":...} per scenario, then {"event":"done",...};
// a fatal problem prints {"event":"fatal","error":...} and exits 1.
// Env: PEER_SIGNAL_E2E_CHROMIUM (browser binary, default /usr/bin/chromium), PEER_SIGNAL_E2E_ONLY (comma-separated scenarios).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { serverEnv } from '../support/server-env.mjs';
import {
  ROOT as root,
  STOP_MS,
  cleanUp,
  cleanups,
  emit,
  launchBrowser,
  requireLoopbackOnly,
  runDriver,
  runScenario,
  startPageServer,
  tail,
  withDeadline,
} from './browser/driver-kit.mjs';

const DRIVER_DEADLINE_MS = 50_000;
const SERVER_START_MS = 10_000;
// Short, so that the peer-unavailable scenario gets its EXPIRE quickly.
const EXPIRE_TIMEOUT_MS = 1000;
const KEY = 'peerjs';
const PATH = '/peerjs';
const SCENARIOS = ['data-connection', 'server-assigned-id', 'peer-unavailable', 'unavailable-id', 'invalid-key', 'reconnect'];

/** Spawns the built CLI on a free loopback port and resolves with its JSON listening line. */
async function startSignalServer(serverLog) {
  const child = spawn(
    process.execPath,
    [
      'bin/peer-signal.js',
      '--port', '0',
      '--host', '127.0.0.1',
      '--json',
      '--key', KEY,
      '--path', PATH,
      '--expire-timeout', String(EXPIRE_TIMEOUT_MS),
      '--log-level', 'debug',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv({ NO_COLOR: '1' }) },
  );
  const exited = once(child, 'exit');
  const stderr = tail(40);
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const lines = createInterface({ input: child.stdout });
  const first = new Promise((resolve, reject) => {
    lines.once('line', (line) => {
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`the server's first stdout line is not JSON: ${line}`));
      }
    });
    exited.then(([code, signal]) =>
      reject(new Error(`the server exited (code ${code}, signal ${signal}) before listening; stderr: ${stderr.lines().join(' | ')}`)),
    );
  });
  // Every later line is a JSON log record; keep reading so the pipe never fills up.
  lines.on('line', (line) => serverLog.push(line));
  child.on('error', () => {}); // spawn failures surface through `exit`.
  let listening;
  try {
    listening = await withDeadline(first, SERVER_START_MS, 'waiting for the server to print its listening line');
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  if (listening.event !== 'listening' || typeof listening.port !== 'number') {
    child.kill('SIGKILL');
    throw new Error(`expected {"event":"listening",...} first, got ${JSON.stringify(listening)}`);
  }
  /** SIGTERM, then wait for a clean exit; SIGKILL if it overstays. Resolves with how it ended. */
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode, ms: 0, alreadyExited: true };
    const started = Date.now();
    child.kill('SIGTERM');
    try {
      const [code, signal] = await withDeadline(exited, STOP_MS, 'waiting for the server to exit after SIGTERM');
      return { code, signal, ms: Date.now() - started };
    } catch {
      child.kill('SIGKILL');
      const [code, signal] = await exited;
      return { code, signal, ms: Date.now() - started, killed: true };
    }
  };
  /** How the server ended, or null while it runs (a crash mid-run explains every later failure). */
  const exitStatus = () =>
    child.exitCode === null && child.signalCode === null ? null : { code: child.exitCode, signal: child.signalCode };
  return { listening, pid: child.pid, stop, stderr, exitStatus };
}

/** Serves the page, the harness and the peerjs browser bundle, so the page has an http://127.0.0.1 origin. */

async function main() {
  requireLoopbackOnly('test/e2e/browser-driver.mjs');
  const serverLog = tail(200);
  const server = await startSignalServer(serverLog);
  cleanups.push({ name: 'server', run: server.stop });
  const target = { host: '127.0.0.1', port: server.listening.port, path: PATH, key: KEY };

  const pages = await startPageServer('test/e2e/browser/harness.js');
  cleanups.push({ name: 'pages', run: pages.close });

  const { browser, context } = await launchBrowser(pages.origin);

  emit({
    event: 'ready',
    server: server.listening,
    target,
    serverPid: server.pid,
    pageOrigin: pages.origin,
    browserVersion: browser.version(),
  });

  const only = process.env.PEER_SIGNAL_E2E_ONLY?.split(',');
  for (const name of SCENARIOS) {
    if (only !== undefined && !only.includes(name)) continue;
    const result = await runScenario(context, pages.origin, target, name);
    const record = { event: 'scenario', name, ...result };
    // On failure the server's side of the story is usually the quickest clue.
    if (!result.ok) {
      record.serverLog = serverLog.lines().slice(-50);
      record.serverStderr = server.stderr.lines();
      record.serverExit = server.exitStatus();
    }
    emit(record);
  }

  const stopped = await cleanUp();
  emit({ event: 'done', cleanup: stopped, serverStderr: server.stderr.lines() });
}

runDriver(main, DRIVER_DEADLINE_MS);
