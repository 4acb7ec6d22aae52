// The real peerjs client in headless Chromium against the built server, inside a network namespace that has only lo.
// browser-driver.mjs does the browser work and prints JSON lines; this file starts it, and asserts one scenario per test.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { browserProblems, requires } from '../support/prerequisites.js';
import { useDriver } from './browser/driver-start.js';

const DRIVER = fileURLToPath(new URL('./browser-driver.mjs', import.meta.url));
/** The driver gives up on its own after 50 s; ready (server + browser up) comes within a few seconds. */
const READY_MS = 30_000;
/** One scenario takes about a second; the driver bounds each at 15 s, so 23 s means the driver itself is stuck. */
const SCENARIO_WAIT_MS = 23_000;
const TEST_TIMEOUT_MS = 25_000;
const STOP_MS = 10_000;
const LOOPBACK = ['127.0.0.1', '::1'];

interface ReadyRecord {
  event: 'ready';
  server: { url: string; port: number };
  target: { host: string; port: number; path: string; key: string };
  serverPid: number;
  pageOrigin: string;
  browserVersion: string;
}

interface ScenarioRecord {
  event: 'scenario';
  name: string;
  ok: boolean;
  ms: number;
  details?: unknown;
  error?: string;
  console?: string[];
  serverLog?: string[];
  serverStderr?: string[];
  serverExit?: { code: number | null; signal: string | null } | null;
}

interface DoneRecord {
  event: 'done';
  cleanup: Record<string, unknown>;
  serverStderr: string[];
}

type DriverRecord = ReadyRecord | ScenarioRecord | DoneRecord | { event: 'fatal'; error: string };

interface PeerErrorSeen {
  type: string | undefined;
  message: string;
}

type Received = { kind: 'string'; value: string } | { kind: string; bytes: number[] };

interface Candidate {
  address: string;
  port: number;
  protocol: string;
  candidateType: string;
}

interface DataConnectionDetails {
  a: string;
  b: string;
  outgoingPeer: string;
  acceptedPeer: string;
  serialization: string;
  receivedByA: Received[];
  receivedByB: Received[];
  route: { local: Candidate; remote: Candidate } | null;
  acceptedRoute: { local: Candidate; remote: Candidate } | null;
}

interface ServerAssignedIdDetails {
  openedWith: string;
  peerId: string;
  idRequests: string[];
}

interface PeerUnavailableDetails {
  missing: string;
  error: PeerErrorSeen;
  open: boolean;
  disconnected: boolean;
  destroyed: boolean;
}

interface UnavailableIdDetails {
  id: string;
  error: PeerErrorSeen;
  secondLog: string[];
  secondDestroyed: boolean;
  firstOpen: boolean;
  firstDisconnected: boolean;
}

interface InvalidKeyDetails {
  withId: { error: PeerErrorSeen; log: string[]; destroyed: boolean };
  withoutId: { error: PeerErrorSeen; log: string[]; destroyed: boolean; idFailures: string[] };
}

interface ReconnectDetails {
  id: string;
  firstOpen: string;
  disconnectedId: string;
  afterDisconnect: { open: boolean; disconnected: boolean; destroyed: boolean };
  secondOpen: string;
  afterReconnect: { id: string; open: boolean; disconnected: boolean };
  receivedAfterReconnect: Received[];
}

const browser = requires('the browser e2e tests', ...browserProblems());

function failure(record: ScenarioRecord): string {
  const lines = [`scenario "${record.name}" failed in Chromium after ${record.ms} ms: ${record.error ?? '(no message)'}`];
  if (record.console !== undefined && record.console.length > 0) lines.push(`page console:\n  ${record.console.join('\n  ')}`);
  if (record.serverExit) lines.push(`the server had exited: code ${record.serverExit.code}, signal ${record.serverExit.signal}`);
  if (record.serverStderr !== undefined && record.serverStderr.length > 0) {
    lines.push(`server stderr:\n  ${record.serverStderr.join('\n  ')}`);
  }
  if (record.serverLog !== undefined && record.serverLog.length > 0) lines.push(`server log:\n  ${record.serverLog.join('\n  ')}`);
  return lines.join('\n');
}

browser.describe('peerjs in headless Chromium against peer-signal', () => {
  const driver = useDriver<DriverRecord>(DRIVER, 'browser driver', { readyMs: READY_MS, stopMs: STOP_MS });

  async function details<T>(name: string): Promise<T> {
    const record = await driver().wait<ScenarioRecord>(`scenario:${name}`, SCENARIO_WAIT_MS);
    if (!record.ok) throw new Error(failure(record));
    return record.details as T;
  }

  it('opens a DataConnection and exchanges a string and binary data both ways', async () => {
    const d = await details<DataConnectionDetails>('data-connection');
    expect(d.outgoingPeer).toBe(d.b);
    expect(d.acceptedPeer).toBe(d.a);
    expect(d.serialization).toBe('binary');
    // peerjs's binary serialization hands every binary payload over as an ArrayBuffer, a sent Uint8Array too.
    expect(d.receivedByB).toEqual([
      { kind: 'string', value: 'hello from a' },
      { kind: 'ArrayBuffer', bytes: [0, 1, 2, 127, 128, 255] },
      { kind: 'ArrayBuffer', bytes: [10, 20, 30] },
    ]);
    expect(d.receivedByA).toEqual([
      { kind: 'string', value: 'hello from b' },
      { kind: 'ArrayBuffer', bytes: [255, 254, 0] },
      { kind: 'ArrayBuffer', bytes: [1, 2, 3, 4] },
    ]);
    // Both ends settled on host candidates on loopback: the data never left the namespace.
    expect(d.route?.local).toMatchObject({ candidateType: 'host' });
    expect(d.acceptedRoute?.local).toMatchObject({ candidateType: 'host' });
    expect(LOOPBACK).toContain(d.route?.local.address);
    expect(LOOPBACK).toContain(d.acceptedRoute?.local.address);
  }, TEST_TIMEOUT_MS);

  it('opens a peer created without an id with the id the server handed out', async () => {
    const d = await details<ServerAssignedIdDetails>('server-assigned-id');
    const ready = await driver().wait<ReadyRecord>('ready', 0);
    expect(d.idRequests).toEqual([`${ready.server.url}/${ready.target.key}/id`]);
    expect(d.openedWith).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(d.peerId).toBe(d.openedWith);
  }, TEST_TIMEOUT_MS);

  it('raises peer-unavailable when connecting to an unknown id, and stays open', async () => {
    const d = await details<PeerUnavailableDetails>('peer-unavailable');
    expect(d.error).toEqual({ type: 'peer-unavailable', message: `Could not connect to peer ${d.missing}` });
    expect(d).toMatchObject({ open: true, disconnected: false, destroyed: false });
  }, TEST_TIMEOUT_MS);

  it('raises unavailable-id for a second peer with an id in use, leaving the first one open', async () => {
    const d = await details<UnavailableIdDetails>('unavailable-id');
    expect(d.error).toEqual({ type: 'unavailable-id', message: `ID "${d.id}" is taken` });
    expect(d.secondLog.filter((event) => event.startsWith('open'))).toEqual([]);
    expect(d.secondDestroyed).toBe(true);
    expect(d).toMatchObject({ firstOpen: true, firstDisconnected: false });
  }, TEST_TIMEOUT_MS);

  it('raises server-error "Invalid key provided" for a wrong key', async () => {
    const d = await details<InvalidKeyDetails>('invalid-key');
    // With an id the client goes straight to the WebSocket, and the server's ERROR frame text comes through.
    expect(d.withId.error).toEqual({ type: 'server-error', message: 'Invalid key provided' });
    expect(d.withId.log.filter((event) => event.startsWith('open'))).toEqual([]);
    expect(d.withId.destroyed).toBe(true);
    // Without an id the client first asks GET {path}/{key}/id, which answers 401; peerjs 1.5.5 then emits a
    // server-error whose message is empty (PeerError copies an Error's own fields, and `message` is not one).
    expect(d.withoutId.error.type).toBe('server-error');
    expect(d.withoutId.idFailures).toEqual([expect.stringContaining('Status:401')]);
    expect(d.withoutId.destroyed).toBe(true);
  }, TEST_TIMEOUT_MS);

  it('fires open again with the same id after disconnect() and reconnect(), and is reachable', async () => {
    const d = await details<ReconnectDetails>('reconnect');
    expect(d.firstOpen).toBe(d.id);
    expect(d.disconnectedId).toBe(d.id);
    expect(d.afterDisconnect).toEqual({ open: false, disconnected: true, destroyed: false });
    expect(d.secondOpen).toBe(d.id);
    expect(d.afterReconnect).toEqual({ id: d.id, open: true, disconnected: false });
    expect(d.receivedAfterReconnect).toEqual([{ kind: 'string', value: 'after reconnect' }]);
  }, TEST_TIMEOUT_MS);

  it('closes the browser and stops the server with exit code 0 afterwards', async () => {
    const done = await driver().wait<DoneRecord>('done', SCENARIO_WAIT_MS);
    expect(done.cleanup, `server stderr:\n${done.serverStderr.join('\n')}`).toMatchObject({
      browser: 'ok',
      pages: 'ok',
      server: { code: 0, signal: null },
    });
    await expect.poll(() => driver().exit, { timeout: 5000 }).toEqual({ code: 0, signal: null });
  }, TEST_TIMEOUT_MS);
});
