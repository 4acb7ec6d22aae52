// The official `peer` README's server examples, only the import changed, with the real peerjs client in headless Chromium.
// readme-driver.mjs does the work inside a network namespace with only lo (so the examples' port 9000 is private); this file asserts.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { useDriver } from '../e2e/browser/driver-start.js';
import { browserProblems, requires } from '../support/prerequisites.js';

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

const readmeBrowser = requires('the peer README browser tests', ...browserProblems());

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

readmeBrowser.describe("peer's README examples with require('peer-signal'), peerjs in Chromium", () => {
  const driver = useDriver<DriverRecord>(DRIVER, 'peer README driver', { readyMs: READY_MS, stopMs: STOP_MS, built: ['dist/index.js'] });

  it.each(EXAMPLES)('%s: two peers open a DataConnection, and a peer without an id gets one', async (name) => {
    const record = await driver().wait<ExampleRecord>(`scenario:${name}`, EXAMPLE_WAIT_MS);
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
    const done = await driver().wait<{ event: 'done'; cleanup?: unknown }>('done', EXAMPLE_WAIT_MS);
    expect(done.cleanup).toMatchObject({ browser: 'ok', pages: 'ok' });
  }, EXAMPLE_WAIT_MS + 5000);
});
