// Starts a browser driver inside a network namespace whose only interface is lo (or says why this machine cannot), for a suite.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { DriverRun, type DriverRecordBase } from './driver-run.js';
// The drivers read the same variable, so the test and its driver agree on the browser.
import { CHROMIUM } from '../../support/chromium.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** unshare's arguments: a new network namespace, lo up, then exec the rest (one process: its pid is the driver's). */
const IN_NAMESPACE = ['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'];

/** What keeps the browser tests from running here: software to install (a failure with CI=true) or a privilege (a skip). */
export interface BrowserSkip {
  reason: string;
  missingInstall: boolean;
}

/** Chromium must exist and `unshare -n` must work; undefined when both hold. */
export function findBrowserSkip(): BrowserSkip | undefined {
  if (!existsSync(CHROMIUM)) return { reason: `${CHROMIUM} not found; install it with: apt-get install chromium`, missingInstall: true };
  const probe = spawnSync('unshare', [...IN_NAMESPACE, 'true'], { encoding: 'utf8', timeout: 5000 });
  if (probe.status === 0) return undefined;
  const reason =
    probe.error === undefined
      ? `unshare -n failed (${probe.stderr.trim() || `exit ${probe.status}`}); the browser tests need a private network namespace, ` +
        'so run them as root (or with CAP_SYS_ADMIN and CAP_NET_ADMIN)'
      : `cannot run unshare (${probe.error.message}); install util-linux and iproute2 (apt-get install util-linux iproute2)`;
  return { reason, missingInstall: false };
}

export interface DriverTimes {
  /** How long the driver may take to print its ready record. */
  readyMs: number;
  /** How long stop() waits after SIGTERM before killing the driver's process group. */
  stopMs: number;
}

/**
 * Registers the hooks of a suite (call it inside `describe`): beforeAll starts `node driverFile` in the namespace,
 * detached so that it leads the process group stop() may kill, and waits for its ready record; afterAll stops it.
 * Returns the running driver, for the tests.
 */
export function useDriver<R extends DriverRecordBase>(driverFile: string, label: string, times: DriverTimes): () => DriverRun<R> {
  let driver: DriverRun<R> | undefined;
  beforeAll(async () => {
    const missing = ['dist/cli.js', 'bin/peer-signal.js'].find((built) => !existsSync(`${root}${built}`));
    if (missing !== undefined) throw new Error(`${missing} is missing; run npm run build first (npm test does it)`);
    const options: SpawnOptions = { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } };
    const child = spawn('unshare', [...IN_NAMESPACE, process.execPath, driverFile], options);
    driver = new DriverRun<R>(child, label, times.stopMs);
    await driver.wait('ready', times.readyMs);
  }, times.readyMs + 5000);
  afterAll(() => driver?.stop(), times.stopMs + 5000);
  return () => {
    if (driver === undefined) throw new Error(`the ${label} did not start`);
    return driver;
  };
}
