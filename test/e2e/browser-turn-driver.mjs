// Runs the TURN scenario in headless Chromium: peer-signal hands out coturn credentials, two peerjs peers connect through relays only.
// Meant to run inside the network namespace of a coturn started by test/support/coturn.ts with privateNetwork (only lo):
//   nsenter -t <coturn pid> -n -- node test/e2e/browser-turn-driver.mjs
// Env: PEER_SIGNAL_E2E_TURN_URL (coturn's turn: URL), PEER_SIGNAL_E2E_TURN_SECRET (its static-auth-secret),
// PEER_SIGNAL_E2E_CHROMIUM (default /usr/bin/chromium). stdout: {"event":"ready"}, {"event":"scenario",...}, {"event":"done"}.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ROOT as root,
  cleanUp,
  cleanups,
  emit,
  launchBrowser,
  requireLoopbackOnly,
  runDriver,
  runScenario,
  startPageServer,
  tail,
} from './browser/driver-kit.mjs';

const DRIVER_DEADLINE_MS = 50_000;
const KEY = 'peerjs';
const PATH = '/peerjs';
const SCENARIO = 'relay-data-connection';

async function main() {
  requireLoopbackOnly('test/e2e/browser-turn-driver.mjs');
  const turnUrl = process.env.PEER_SIGNAL_E2E_TURN_URL;
  const turnSecret = process.env.PEER_SIGNAL_E2E_TURN_SECRET;
  if (!turnUrl || !turnSecret) throw new Error('set PEER_SIGNAL_E2E_TURN_URL and PEER_SIGNAL_E2E_TURN_SECRET to the coturn this driver runs beside');
  // The built library (npm run build), in this process: the CLI's side of the route is tested in test/ice/cli.test.ts.
  const { createLogger, startSignalServer } = await import(pathToFileURL(join(root, 'dist/index.js')).href);
  const serverLog = tail(100);
  const logger = createLogger({ level: 'debug', json: true, write: (line) => serverLog.push(line.trimEnd()) });
  const server = await startSignalServer({ key: KEY, path: PATH, turnSecret, turnUrls: [turnUrl], turnTtlSeconds: 600 }, { logger });
  cleanups.push({ name: 'server', run: () => server.close() });
  const target = { host: '127.0.0.1', port: server.port, path: PATH, key: KEY, iceServersUrl: `${server.url}/${KEY}/ice-servers` };

  const pages = await startPageServer('test/e2e/browser-turn-harness.js');
  cleanups.push({ name: 'pages', run: pages.close });
  const { browser, context } = await launchBrowser(pages.origin);
  emit({ event: 'ready', target, turnUrl, pageOrigin: pages.origin, browserVersion: browser.version() });

  const result = await runScenario(context, pages.origin, target, SCENARIO);
  emit({ event: 'scenario', name: SCENARIO, ...result, ...(result.ok ? {} : { serverLog: serverLog.lines().slice(-40) }) });
  emit({ event: 'done', cleanup: await cleanUp() });
}

runDriver(main, DRIVER_DEADLINE_MS);
