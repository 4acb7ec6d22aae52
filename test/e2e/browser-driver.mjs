// Runs the peerjs browser scenarios in headless Chromium against the built peer-signal; prints one JSON line per event.
// Meant to run inside a network namespace whose only interface is lo (test/e2e/browser.test.ts starts it that way):
//   unshare -n -- sh -c 'ip link set lo up && exec node test/e2e/browser-driver.mjs'
// stdout lines: {"event":"ready",...}, then {"event":"scenario","name":...,"ok":...} per scenario, then {"event":"done",...};
// a fatal problem prints {"event":"fatal","error":...} and exits 1.
// Env: PEER_SIGNAL_E2E_CHROMIUM (browser binary, default /usr/bin/chromium), PEER_SIGNAL_E2E_ONLY (comma-separated scenarios).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env.PEER_SIGNAL_E2E_CHROMIUM ?? '/usr/bin/chromium';
/** Everything, including cleanup, must be over by then; the vitest side waits a little longer. */
const DRIVER_DEADLINE_MS = 50_000;
const SERVER_START_MS = 10_000;
const BROWSER_LAUNCH_MS = 20_000;
const SCENARIO_MS = 15_000;
const STOP_MS = 7_000;
/** Short, so that connecting to an unknown id is reported (EXPIRE → peer-unavailable) within a second. */
const EXPIRE_TIMEOUT_MS = 1000;
const KEY = 'peerjs';
const PATH = '/peerjs';
const SCENARIOS = ['data-connection', 'server-assigned-id', 'peer-unavailable', 'unavailable-id', 'invalid-key', 'reconnect'];
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

const emit = (record) => process.stdout.write(JSON.stringify(record) + '\n');

/** Rejects with `message` if `promise` has not settled within `ms`. */
function withDeadline(promise, ms, message) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (deadline ${ms} ms)`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Keeps the last `size` lines, for failure diagnostics. */
function tail(size) {
  const lines = [];
  return {
    push(line) {
      lines.push(line);
      if (lines.length > size) lines.shift();
    },
    lines: () => [...lines],
  };
}

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
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
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
async function startPageServer() {
  const files = new Map([
    ['/', { file: 'test/e2e/browser/index.html', type: 'text/html; charset=utf-8' }],
    ['/harness.js', { file: 'test/e2e/browser/harness.js', type: 'text/javascript; charset=utf-8' }],
    ['/peerjs.min.js', { file: 'node_modules/peerjs/dist/peerjs.min.js', type: 'text/javascript; charset=utf-8' }],
  ]);
  const bodies = new Map();
  for (const [route, { file, type }] of files) bodies.set(route, { body: await readFile(join(root, file)), type });
  const server = createServer((request, response) => {
    const found = bodies.get(new URL(request.url ?? '/', 'http://x').pathname);
    if (found === undefined) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'Content-Type': found.type, 'Cache-Control': 'no-store' }).end(found.body);
  });
  server.listen(0, '127.0.0.1');
  await withDeadline(once(server, 'listening'), 5000, 'waiting for the page server to listen');
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function runScenario(context, pageOrigin, target, name) {
  const started = Date.now();
  const pageConsole = tail(40);
  const page = await context.newPage();
  page.on('console', (message) => pageConsole.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => pageConsole.push(`pageerror: ${error.message}`));
  try {
    await page.goto(`${pageOrigin}/`, { timeout: 10_000 });
    await page.waitForFunction(() => window.e2e !== undefined && window.peerjs !== undefined, undefined, { timeout: 5000 });
    const details = await withDeadline(
      page.evaluate(([scenario, server]) => window.e2e.run(scenario, server), [name, target]),
      SCENARIO_MS,
      `scenario ${name} did not finish`,
    );
    return { ok: true, ms: Date.now() - started, details };
  } catch (error) {
    return { ok: false, ms: Date.now() - started, error: error instanceof Error ? error.message : String(error), console: pageConsole.lines() };
  } finally {
    await withDeadline(page.close(), 5000, 'closing the page').catch(() => {});
  }
}

const cleanups = [];
let cleaning;
/** Runs the registered cleanups once, newest first, each bounded. */
function cleanUp() {
  cleaning ??= (async () => {
    const results = {};
    for (const { name, run } of cleanups.reverse()) {
      try {
        results[name] = (await withDeadline(run(), STOP_MS + 1000, `cleanup ${name}`)) ?? 'ok';
      } catch (error) {
        results[name] = { error: error instanceof Error ? error.message : String(error) };
      }
    }
    return results;
  })();
  return cleaning;
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.once(signal, () => {
    stopping = true;
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

const fatalTimer = setTimeout(() => {
  emit({ event: 'fatal', error: `the driver did not finish within ${DRIVER_DEADLINE_MS} ms` });
  void cleanUp().finally(() => process.exit(1));
}, DRIVER_DEADLINE_MS);

async function main() {
  // WebRTC traffic must stay on loopback: refuse to run where the browser could reach a real network.
  const interfaces = Object.keys(networkInterfaces());
  if (interfaces.some((name) => name !== 'lo')) {
    throw new Error(
      `network interfaces ${interfaces.join(', ')} are visible; run the driver in a namespace with only lo: ` +
        `unshare -n -- sh -c 'ip link set lo up && exec node test/e2e/browser-driver.mjs'`,
    );
  }
  const serverLog = tail(200);
  const server = await startSignalServer(serverLog);
  cleanups.push({ name: 'server', run: server.stop });
  const target = { host: '127.0.0.1', port: server.listening.port, path: PATH, key: KEY };

  const pages = await startPageServer();
  cleanups.push({ name: 'pages', run: pages.close });

  // Our own signal handlers close the browser; Playwright's would exit the process before the server is stopped.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: BROWSER_LAUNCH_MS,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  cleanups.push({ name: 'browser', run: () => browser.close() });
  const context = await browser.newContext();
  // With media permission Chromium offers its host addresses (here only loopback) instead of hiding them.
  await context.grantPermissions(['camera', 'microphone'], { origin: pages.origin });

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

main().then(
  () => {
    clearTimeout(fatalTimer);
  },
  async (error) => {
    clearTimeout(fatalTimer);
    // After a signal the browser is closed under the scenarios; that is the shutdown, not a failure to report.
    if (stopping) return;
    emit({ event: 'fatal', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    await cleanUp();
    process.exitCode = 1;
  },
);
