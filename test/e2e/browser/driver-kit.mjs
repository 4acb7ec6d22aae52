// What both browser drivers share: Chromium on loopback, the page server, one scenario per page, bounded cleanup.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS as BASE_CHROMIUM_ARGS } from '../../support/chromium.mjs';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BROWSER_LAUNCH_MS = 20_000;
const SCENARIO_MS = 15_000;
/** How long a child process has to exit after SIGTERM before SIGKILL. */
export const STOP_MS = 7_000;
const CHROMIUM_ARGS = [
  ...BASE_CHROMIUM_ARGS,
  // WebRTC between pages of one machine: loopback candidates, fake media, and real addresses instead of mDNS names.
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export const emit = (record) => process.stdout.write(JSON.stringify(record) + '\n');

/** Rejects with `message` if `promise` has not settled within `ms`. */
export function withDeadline(promise, ms, message) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (deadline ${ms} ms)`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Keeps the last `size` lines, for failure diagnostics. */
export function tail(size) {
  const lines = [];
  return {
    push(line) {
      lines.push(line);
      if (lines.length > size) lines.shift();
    },
    lines: () => [...lines],
  };
}

/** WebRTC traffic must stay on loopback: refuse to run where the browser could reach a real network. */
export function requireLoopbackOnly(driverFile) {
  const interfaces = Object.keys(networkInterfaces());
  if (interfaces.some((name) => name !== 'lo')) {
    throw new Error(
      `network interfaces ${interfaces.join(', ')} are visible; run the driver in a namespace with only lo: ` +
        `unshare -n -- sh -c 'ip link set lo up && exec node ${driverFile}'`,
    );
  }
}

/** Serves index.html, the given harness as /harness.js, and the peerjs browser bundle on 127.0.0.1. */
export async function startPageServer(harnessFile) {
  const files = new Map([
    ['/', { file: 'test/e2e/browser/index.html', type: 'text/html; charset=utf-8' }],
    ['/harness.js', { file: harnessFile, type: 'text/javascript; charset=utf-8' }],
    ['/peerjs.min.js', { file: 'node_modules/peerjs/dist/peerjs.min.js', type: 'text/javascript; charset=utf-8' }],
  ]);
  const bodies = new Map();
  for (const [route, { file, type }] of files) bodies.set(route, { body: await readFile(join(ROOT, file)), type });
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

/** Launches Chromium (registered for cleanup) and a context allowed to use camera and microphone on the pages. */
export async function launchBrowser(pageOrigin) {
  // Our own signal handlers close the browser; Playwright's would exit the process before the servers are stopped.
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
  await context.grantPermissions(['camera', 'microphone'], { origin: pageOrigin });
  return { browser, context };
}

/** Runs scenario `name` of the harness in a fresh page, passing it `target` (one server or several). */
export async function runScenario(context, pageOrigin, target, name) {
  const started = Date.now();
  const pageConsole = tail(60);
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

/** Things to undo at the end, run newest first. */
export const cleanups = [];
let cleaning;

/** Runs the registered cleanups once, newest first, each bounded. */
export function cleanUp() {
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

/**
 * Runs a driver's main() within `deadlineMs`: a signal or the deadline runs the cleanups and exits; a failure
 * prints {"event":"fatal"} and exits 1 after cleaning up.
 */
export function runDriver(main, deadlineMs) {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.once(signal, () => {
      stopping = true;
      void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  const fatalTimer = setTimeout(() => {
    emit({ event: 'fatal', error: `the driver did not finish within ${deadlineMs} ms` });
    void cleanUp().finally(() => process.exit(1));
  }, deadlineMs);
  main().then(
    () => clearTimeout(fatalTimer),
    async (error) => {
      clearTimeout(fatalTimer);
      // After a signal the browser is closed under the scenarios; that is the shutdown, not a failure to report.
      if (stopping) return;
      emit({ event: 'fatal', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      await cleanUp();
      process.exitCode = 1;
    },
  );
}
