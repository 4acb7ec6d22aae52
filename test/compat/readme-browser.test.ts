// The official `peer` README's server examples, only the import changed, with the real peerjs client in headless Chromium.
// readme-driver.mjs does the work inside a network namespace with only lo (so the examples' port 9000 is private); this file asserts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriverRun } from '../e2e/browser/driver-run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env.PEER_SIGNAL_E2E_CHROMIUM ?? '/usr/bin/chromium';
const DRIVER = fileURLToPath(new URL('./readme-driver.mjs', import.meta.url));
const READY_MS = 40_000;
/** Each example: start, two scenarios of about a second (each bounded at 15 s by the driver), stop. */
const EXAMPLE_WAIT_MS = 45_000;
const STOP_MS = 10_000;
const LOOPBACK = ['127.0.0.1', '::1'];
const EXAMPLES = [
  'express: app.listen, then ExpressPeerServer',
  'express: http.createServer, ExpressPeerServer, then listen',
  'PeerServer({ port: 9000, path: "/myapp" })',
  'Google App Engine server.js (mounted at /, path /)',
];

interface ScenarioResult {
  ok: boolean;
  ms: number;
  details?: Record<string, unknown>;
  error?: string;
  console?: string[];
}

interface ExampleRecord {
  event: 'scenario';
  name: string;
  code: string;
  info?: { status: number; body: string };
  scenarios?: Record<string, ScenarioResult>;
  stderr?: string[];
  error?: string;
}

type DriverRecord = ExampleRecord | { event: 'ready' | 'done' | 'fatal'; name?: string; error?: string; cleanup?: unknown };

/** Why the suite cannot run here (the same rule as test/e2e/browser.test.ts), or undefined when it can. */
function findSkipReason(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found; install it with: apt-get install chromium`;
  const probe = spawnSync('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up'], { encoding: 'utf8', timeout: 5000 });
  if (probe.error !== undefined) {
    return `cannot run unshare (${probe.error.message}); install util-linux and iproute2 (apt-get install util-linux iproute2)`;
  }
  if (probe.status !== 0) {
    return `unshare -n failed (${probe.stderr.trim() || `exit ${probe.status}`}); the browser tests need a private network namespace, so run them as root`;
  }
  return undefined;
}

const inCi = process.env.CI === 'true';
const chromiumMissing = !existsSync(CHROMIUM);
const skipReason = findSkipReason();
if (skipReason !== undefined && !(chromiumMissing && inCi)) console.warn(`skipping the peer README browser tests: ${skipReason}`);

// Registered only when it fails, so a normal run does not list a skipped test.
if (chromiumMissing && inCi) {
  describe('peer README browser prerequisites', () => {
    it('finds Chromium (CI=true turns the skip into a failure)', () => {
      throw new Error(`${CHROMIUM} not found, and CI=true forbids skipping the browser tests; install it with: apt-get install chromium`);
    });
  });
}

function explain(record: ExampleRecord): string {
  const lines = [`example "${record.name}":`];
  if (record.error !== undefined) lines.push(`  ${record.error}`);
  for (const [name, result] of Object.entries(record.scenarios ?? {})) {
    if (!result.ok) lines.push(`  scenario ${name} failed: ${result.error}`, ...(result.console ?? []).map((line) => `    ${line}`));
  }
  if (record.stderr !== undefined && record.stderr.length > 0) lines.push('  example stderr:', ...record.stderr.map((line) => `    ${line}`));
  lines.push('  code:', ...record.code.split('\n').map((line) => `    ${line}`));
  return lines.join('\n');
}

describe.skipIf(skipReason !== undefined)("peer's README examples with require('peer-signal'), peerjs in Chromium", () => {
  let driver: DriverRun<DriverRecord> | undefined;

  beforeAll(async () => {
    if (!existsSync(`${root}dist/index.js`)) throw new Error('dist/index.js is missing; run npm run build first (npm test does it)');
    const child = spawn('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, DRIVER], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    driver = new DriverRun<DriverRecord>(child, 'peer README driver', STOP_MS);
    await driver.wait('ready', READY_MS);
  }, READY_MS + 5000);

  afterAll(async () => {
    await driver?.stop();
  }, STOP_MS + 5000);

  it.each(EXAMPLES)('%s: two peers open a DataConnection, and a peer without an id gets one', async (name) => {
    if (driver === undefined) throw new Error('the driver did not start');
    const record = await driver.wait<ExampleRecord>(`scenario:${name}`, EXAMPLE_WAIT_MS);
    const scenarios = record.scenarios ?? {};
    expect(record.error, explain(record)).toBeUndefined();
    expect(record.code).toContain('require("peer-signal")');
    expect(record.info?.status).toBe(200);
    expect(scenarios['data-connection']?.ok, explain(record)).toBe(true);
    expect(scenarios['server-assigned-id']?.ok, explain(record)).toBe(true);
    const data = scenarios['data-connection']!.details as { receivedByA: unknown[]; receivedByB: unknown[]; route: { local: { address: string } } };
    expect(data.receivedByB).toContainEqual({ kind: 'string', value: 'hello from a' });
    expect(data.receivedByA).toContainEqual({ kind: 'string', value: 'hello from b' });
    expect(LOOPBACK).toContain(data.route.local.address);
    const assigned = scenarios['server-assigned-id']!.details as { openedWith: string; idRequests: string[] };
    expect(assigned.openedWith).toMatch(/^[0-9a-f-]{36}$/);
    expect(assigned.idRequests).toHaveLength(1);
  }, EXAMPLE_WAIT_MS + 5000);

  it('closes the browser and its pages afterwards', async () => {
    if (driver === undefined) throw new Error('the driver did not start');
    const done = await driver.wait<{ event: 'done'; cleanup?: unknown }>('done', EXAMPLE_WAIT_MS);
    expect(done.cleanup).toMatchObject({ browser: 'ok', pages: 'ok' });
  }, EXAMPLE_WAIT_MS + 5000);
});
