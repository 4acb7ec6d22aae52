// The real peerjs client in headless Chromium, two peers on DIFFERENT cluster instances sharing one redis-server,
// all inside a loopback-only network namespace. browser-cluster-driver.mjs does the work and prints JSON lines.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisMissing } from '../support/redis-server.js';
import { DriverRun } from './browser/driver-run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env.PEER_SIGNAL_E2E_CHROMIUM ?? '/usr/bin/chromium';
const DRIVER = fileURLToPath(new URL('./browser-cluster-driver.mjs', import.meta.url));
/** The driver gives up on its own after 50 s; ready (redis, two instances, browser) comes within a few seconds. */
const READY_MS = 30_000;
const SCENARIO_WAIT_MS = 23_000;
const TEST_TIMEOUT_MS = 25_000;
const STOP_MS = 10_000;
const LOOPBACK = ['127.0.0.1', '::1'];

interface ReadyRecord {
  event: 'ready';
  redis: { url: string; pid: number };
  servers: Array<{ url: string; port: number; pid: number }>;
}

interface ScenarioRecord {
  event: 'scenario';
  name: string;
  ok: boolean;
  ms: number;
  details?: unknown;
  error?: string;
  console?: string[];
  servers?: Array<{ name: string; log: string[]; stderr: string[]; exit: unknown }>;
}

interface DoneRecord {
  event: 'done';
  cleanup: Record<string, unknown>;
  serverStderr: string[][];
}

type DriverRecord = ReadyRecord | ScenarioRecord | DoneRecord | { event: 'fatal'; error: string };
type Received = { kind: 'string'; value: string } | { kind: string; bytes: number[] };

interface CrossDataDetails {
  a: string;
  b: string;
  aPort: number;
  bPort: number;
  outgoingPeer: string;
  acceptedPeer: string;
  receivedByA: Received[];
  receivedByB: Received[];
  routeA: { address: string; candidateType: string } | null;
  routeB: { address: string; candidateType: string } | null;
}

interface CrossUnavailableIdDetails {
  id: string;
  error: { type: string | undefined; message: string };
  intruderLog: string[];
  intruderDestroyed: boolean;
  holderOpen: boolean;
  holderDisconnected: boolean;
}

/** Why the suite cannot run here (Chromium or namespaces), or undefined when it can. */
function findSkipReason(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found; install it with: apt-get install chromium`;
  if (redisMissing !== undefined) return redisMissing;
  const probe = spawnSync('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up'], { encoding: 'utf8', timeout: 5000 });
  if (probe.error !== undefined) {
    return `cannot run unshare (${probe.error.message}); install util-linux and iproute2 (apt-get install util-linux iproute2)`;
  }
  if (probe.status !== 0) {
    return (
      `unshare -n failed (${probe.stderr.trim() || `exit ${probe.status}`}); ` +
      'the browser tests need a private network namespace, so run them as root (or with CAP_SYS_ADMIN and CAP_NET_ADMIN)'
    );
  }
  return undefined;
}

const inCi = process.env.CI === 'true';
/** Missing software fails in CI; a missing privilege (unshare) is a skip everywhere, as in browser.test.ts. */
const missingInstall = !existsSync(CHROMIUM) || redisMissing !== undefined;
const skipReason = findSkipReason();
if (skipReason !== undefined && !(missingInstall && inCi)) {
  console.warn(`skipping the browser cluster e2e tests: ${skipReason}`);
}

if (missingInstall && inCi) {
  describe('browser cluster e2e prerequisites', () => {
    it('finds Chromium and redis-server (CI=true turns the skip into a failure)', () => {
      throw new Error(`${skipReason}; CI=true forbids skipping the browser cluster tests`);
    });
  });
}

function failure(record: ScenarioRecord): string {
  const lines = [`scenario "${record.name}" failed in Chromium after ${record.ms} ms: ${record.error ?? '(no message)'}`];
  if (record.console !== undefined && record.console.length > 0) lines.push(`page console:\n  ${record.console.join('\n  ')}`);
  for (const server of record.servers ?? []) {
    lines.push(`instance ${server.name} (exit ${JSON.stringify(server.exit)}):\n  ${[...server.stderr, ...server.log].join('\n  ')}`);
  }
  return lines.join('\n');
}

describe.skipIf(skipReason !== undefined)('peerjs in headless Chromium across two cluster instances', () => {
  let driver: DriverRun<DriverRecord> | undefined;
  let ready: ReadyRecord;

  beforeAll(async () => {
    for (const built of ['dist/cli.js', 'bin/peer-signal.js']) {
      if (!existsSync(`${root}${built}`)) throw new Error(`${built} is missing; run npm run build first (npm test does it)`);
    }
    // exec keeps a single process: unshare execs sh, sh execs node, so the child's pid is the driver's.
    const child = spawn('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, DRIVER], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    driver = new DriverRun<DriverRecord>(child, 'browser cluster driver', STOP_MS);
    ready = await driver.wait<ReadyRecord>('ready', READY_MS);
  }, READY_MS + 5000);

  afterAll(async () => {
    await driver?.stop();
  }, STOP_MS + 5000);

  async function details<T>(name: string): Promise<T> {
    if (driver === undefined) throw new Error('the browser cluster driver did not start');
    const record = await driver.wait<ScenarioRecord>(`scenario:${name}`, SCENARIO_WAIT_MS);
    if (!record.ok) throw new Error(failure(record));
    return record.details as T;
  }

  it('opens a DataConnection between peers on different instances and exchanges data both ways', async () => {
    const d = await details<CrossDataDetails>('cross-instance-data-connection');
    expect(ready.servers).toHaveLength(2);
    expect([d.aPort, d.bPort]).toEqual(ready.servers.map((server) => server.port));
    expect(d.aPort).not.toBe(d.bPort);
    expect(d.outgoingPeer).toBe(d.b);
    expect(d.acceptedPeer).toBe(d.a);
    expect(d.receivedByB).toEqual([
      { kind: 'string', value: 'hello from a' },
      { kind: 'ArrayBuffer', bytes: [0, 1, 2, 255] },
    ]);
    expect(d.receivedByA).toEqual([
      { kind: 'string', value: 'hello from b' },
      { kind: 'ArrayBuffer', bytes: [9, 8, 7] },
    ]);
    expect(d.routeA).toMatchObject({ candidateType: 'host' });
    expect(d.routeB).toMatchObject({ candidateType: 'host' });
    expect(LOOPBACK).toContain(d.routeA?.address);
    expect(LOOPBACK).toContain(d.routeB?.address);
  }, TEST_TIMEOUT_MS);

  it('raises unavailable-id for an id held on the other instance, leaving the holder open', async () => {
    const d = await details<CrossUnavailableIdDetails>('cross-instance-unavailable-id');
    expect(d.error).toEqual({ type: 'unavailable-id', message: `ID "${d.id}" is taken` });
    expect(d.intruderLog.filter((event) => event.startsWith('open'))).toEqual([]);
    expect(d.intruderDestroyed).toBe(true);
    expect(d).toMatchObject({ holderOpen: true, holderDisconnected: false });
  }, TEST_TIMEOUT_MS);

  it('stops the browser, both instances (exit 0) and redis-server afterwards', async () => {
    if (driver === undefined) throw new Error('the browser cluster driver did not start');
    const done = await driver.wait<DoneRecord>('done', SCENARIO_WAIT_MS);
    expect(done.cleanup, `instance stderr:\n${done.serverStderr.flat().join('\n')}`).toMatchObject({
      browser: 'ok',
      pages: 'ok',
      first: { code: 0, signal: null },
      second: { code: 0, signal: null },
      redis: { code: 0, signal: null },
    });
    await expect.poll(() => driver?.exit, { timeout: 5000 }).toEqual({ code: 0, signal: null });
  }, TEST_TIMEOUT_MS);
});
