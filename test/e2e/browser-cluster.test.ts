// The real peerjs client in headless Chromium, two peers on DIFFERENT cluster instances sharing one redis-server,
// all inside a loopback-only network namespace. browser-cluster-driver.mjs does the work and prints JSON lines.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { browserProblems, probe, requires } from '../support/prerequisites.js';
import { redisMissing } from '../support/redis-server.js';
import { useDriver } from './browser/driver-start.js';

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

const browserCluster = requires('the browser cluster e2e tests', ...browserProblems(), probe('redis-server', () => redisMissing));

function failure(record: ScenarioRecord): string {
  const lines = [`scenario "${record.name}" failed in Chromium after ${record.ms} ms: ${record.error ?? '(no message)'}`];
  if (record.console !== undefined && record.console.length > 0) lines.push(`page console:\n  ${record.console.join('\n  ')}`);
  for (const server of record.servers ?? []) {
    lines.push(`instance ${server.name} (exit ${JSON.stringify(server.exit)}):\n  ${[...server.stderr, ...server.log].join('\n  ')}`);
  }
  return lines.join('\n');
}

browserCluster.describe('peerjs in headless Chromium across two cluster instances', () => {
  const driver = useDriver<DriverRecord>(DRIVER, 'browser cluster driver', { readyMs: READY_MS, stopMs: STOP_MS });

  async function details<T>(name: string): Promise<T> {
    const record = await driver().wait<ScenarioRecord>(`scenario:${name}`, SCENARIO_WAIT_MS);
    if (!record.ok) throw new Error(failure(record));
    return record.details as T;
  }

  it('opens a DataConnection between peers on different instances and exchanges data both ways', async () => {
    const d = await details<CrossDataDetails>('cross-instance-data-connection');
    const ready = await driver().wait<ReadyRecord>('ready', 0);
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
    const done = await driver().wait<DoneRecord>('done', SCENARIO_WAIT_MS);
    expect(done.cleanup, `instance stderr:\n${done.serverStderr.flat().join('\n')}`).toMatchObject({
      browser: 'ok',
      pages: 'ok',
      first: { code: 0, signal: null },
      second: { code: 0, signal: null },
      redis: { code: 0, signal: null },
    });
    await expect.poll(() => driver().exit, { timeout: 5000 }).toEqual({ code: 0, signal: null });
  }, TEST_TIMEOUT_MS);
});
