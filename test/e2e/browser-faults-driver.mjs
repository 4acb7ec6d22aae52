// Runs the fault-injection scenarios (kick, delayed OFFER, dropped ANSWER) of harness.js in headless Chromium against
// two built peer-signal servers; prints one JSON line per event. Meant to run inside a network namespace whose only
// interface is lo (test/e2e/browser-faults.test.ts starts it so):
//   unshare -n -- sh -c 'ip link set lo up && exec node test/e2e/browser-faults-driver.mjs'
// "main" has --admin-token (the page asks the driver to kick with the CLI and to PUT/DELETE admin/faults); "drop" has
// --fault-drop ANSWER=1. Both write a --transcript, read once they have stopped. stdout lines: {"event":"ready",...},
// {"event":"scenario",...} per scenario, then {"event":"done","cleanup":...,"transcripts":...}; or {"event":"fatal"}.
// Env: PEER_SIGNAL_E2E_CHROMIUM (browser binary, default /usr/bin/chromium).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { serverEnv } from '../support/server-env.mjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as kit from './browser/driver-kit.mjs';

const DRIVER_DEADLINE_MS = 60_000;
const SERVER_START_MS = 10_000;
/** Bounds a `peer-signal kick` run and an admin request; both take well under a second. */
const ADMIN_CALL_MS = 10_000;
const KEY = 'peerjs';
const PATH = '/peerjs';
/** The server wants at least 16 characters. */
const ADMIN_TOKEN = randomBytes(24).toString('base64url');
/** Which server each scenario runs against. */
const SCENARIOS = [
  ['kick-reconnect', 'main'],
  ['delayed-offer', 'main'],
  ['dropped-answer', 'drop'],
];

/**
 * Spawns `bin/peer-signal.js --port 0 --json ...args` and resolves once it printed its listening line.
 * `stop()` sends SIGTERM and, after the kit's STOP_MS, SIGKILL; it resolves with the exit code and signal.
 */
async function startServer(name, args) {
  const child = spawn(process.execPath, ['bin/peer-signal.js', '--port', '0', '--host', '127.0.0.1', '--json', ...args], {
    cwd: kit.ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: serverEnv({ NO_COLOR: '1' }),
  });
  child.on('error', () => {}); // a failed spawn surfaces through `exit`.
  const exited = once(child, 'exit');
  const running = () => child.exitCode === null && child.signalCode === null;
  const stderr = kit.tail(40);
  const log = kit.tail(200);
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const stdout = createInterface({ input: child.stdout });
  // Every line after the first is a JSON log record; reading them all keeps the pipe from filling up.
  stdout.on('line', (line) => log.push(line));
  const stop = async () => {
    if (running()) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), kit.STOP_MS);
      await exited;
      clearTimeout(killer);
    }
    return { code: child.exitCode, signal: child.signalCode };
  };
  const ended = exited.then(([code, signal]) => {
    throw new Error(`${name} exited (code ${code}, signal ${signal}) before listening; stderr: ${stderr.lines().join(' | ')}`);
  });
  const exit = () => (running() ? null : { code: child.exitCode, signal: child.signalCode });
  try {
    const firstLine = Promise.race([once(stdout, 'line'), ended]);
    const [first] = await kit.withDeadline(firstLine, SERVER_START_MS, `waiting for ${name}'s listening line`);
    const listening = JSON.parse(first);
    if (listening.event !== 'listening') throw new Error(`${name} printed ${first} instead of its listening line`);
    return { name, listening, pid: child.pid, stop, log, stderr, exit };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    ended.catch(() => {});
  }
}

/** Runs the built CLI once (e.g. `kick <id>`), bounded; resolves with its exit code and output. */
function runCli(args) {
  const options = { cwd: kit.ROOT, timeout: ADMIN_CALL_MS, env: serverEnv({ NO_COLOR: '1' }) };
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/peer-signal.js', ...args], options, (error, stdout, stderr) => {
      // A non-zero exit has its code; a timeout or a failed spawn has a signal or an error code instead.
      const code = error === null ? 0 : (error.code ?? error.signal);
      resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() });
    });
  });
}

/** Calls `{prefix}/admin/{route}` on `server` with the admin token. */
async function callAdmin(server, method, route, json) {
  const response = await fetch(`${server.listening.url}/admin/${route}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
    signal: AbortSignal.timeout(ADMIN_CALL_MS),
  });
  return { status: response.status, body: await response.json() };
}

/** The transcript's events, parsed; a line that is not JSON is kept as {unparsed}. */
function readTranscript(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        return { unparsed: line };
      }
    });
}

async function main() {
  kit.requireLoopbackOnly('test/e2e/browser-faults-driver.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'peer-signal-faults-'));
  // Synchronous, so it also runs when runDriver exits on a signal or the deadline.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const common = ['--key', KEY, '--path', PATH, '--log-level', 'debug'];
  const transcripts = { main: join(dir, 'main.ndjson'), drop: join(dir, 'drop.ndjson') };
  const servers = {};
  // Cleanups run newest first: the browser goes, then the pages, then both servers (which flush their transcripts).
  for (const [name, args] of [
    ['main', ['--admin-token', ADMIN_TOKEN, '--transcript', transcripts.main]],
    ['drop', ['--fault-drop', 'ANSWER=1', '--transcript', transcripts.drop]],
  ]) {
    servers[name] = await startServer(name, [...common, ...args]);
    kit.cleanups.push({ name, run: servers[name].stop });
  }

  const pages = await kit.startPageServer('test/e2e/browser/harness.js');
  kit.cleanups.push({ name: 'pages', run: pages.close });
  const { browser, context } = await kit.launchBrowser(pages.origin);
  // What the page cannot do itself: run the CLI, and call the admin routes with the token.
  await context.exposeFunction('e2eDriver', (action, argument) => {
    if (action === 'kick') return runCli(['kick', argument, '--url', servers.main.listening.url, '--admin-token', ADMIN_TOKEN, '--json']);
    if (action === 'set-faults') return callAdmin(servers.main, 'PUT', 'faults', argument);
    if (action === 'clear-faults') return callAdmin(servers.main, 'DELETE', 'faults');
    throw new Error(`unknown driver action "${action}"; known: kick, set-faults, clear-faults`);
  });

  const targets = Object.fromEntries(
    Object.entries(servers).map(([name, server]) => [name, { host: '127.0.0.1', port: server.listening.port, path: PATH, key: KEY }]),
  );
  kit.emit({
    event: 'ready',
    servers: Object.fromEntries(Object.entries(servers).map(([name, server]) => [name, { ...server.listening, pid: server.pid }])),
    pageOrigin: pages.origin,
    browserVersion: browser.version(),
  });

  for (const [name, serverName] of SCENARIOS) {
    const result = await kit.runScenario(context, pages.origin, targets[serverName], name);
    const record = { event: 'scenario', name, server: serverName, ...result };
    // On failure the server's side of the story is usually the quickest clue.
    if (!result.ok) {
      const server = servers[serverName];
      record.serverLog = server.log.lines().slice(-50);
      record.serverStderr = server.stderr.lines();
      record.serverExit = server.exit();
    }
    kit.emit(record);
  }

  const stopped = await kit.cleanUp();
  kit.emit({
    event: 'done',
    cleanup: stopped,
    serverStderr: Object.fromEntries(Object.entries(servers).map(([name, server]) => [name, server.stderr.lines()])),
    transcripts: { main: readTranscript(transcripts.main), drop: readTranscript(transcripts.drop) },
  });
}

kit.runDriver(main, DRIVER_DEADLINE_MS);
