// The real peerjs client in headless Chromium against servers with faults injected: a peer kicked with
// `peer-signal kick`, an OFFER held by PUT admin/faults, every ANSWER dropped by --fault-drop, as the page and the
// server's --transcript see them. browser-faults-driver.mjs does the work (in a loopback-only namespace) and prints JSON lines.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { browserProblems, requires } from '../support/prerequisites.js';
import type { DriverRecordBase } from './browser/driver-run.js';
import { useDriver } from './browser/driver-start.js';

const DRIVER = fileURLToPath(new URL('./browser-faults-driver.mjs', import.meta.url));
/** The driver gives up on its own after 60 s; ready (two servers and the browser) comes within a few seconds. */
const READY_MS = 30_000;
/** The longest scenario watches for 5 s; the driver bounds each at 15 s, so 23 s means the driver itself is stuck. */
const SCENARIO_WAIT_MS = 23_000;
/** `done` comes about 8 s after ready; the driver's own 60 s deadline ends it with a fatal record before this. */
const DONE_WAIT_MS = 55_000;
const TEST_TIMEOUT_MS = 60_000;
const STOP_MS = 10_000;

type Received = { kind: string; value?: string; bytes?: number[] };
type TranscriptEvent = { t: number; event: string; id?: string; code?: number; type?: string; src?: string; dst?: string; ms?: number };

interface ScenarioRecord extends DriverRecordBase {
  event: 'scenario';
  name: string;
  server: string;
  ok: boolean;
  ms: number;
  details?: unknown;
  console?: string[];
  serverLog?: string[];
  serverStderr?: string[];
  serverExit?: unknown;
}

interface DoneRecord extends DriverRecordBase {
  event: 'done';
  cleanup: Record<string, unknown>;
  serverStderr: Record<string, string[]>;
  transcripts: { main: TranscriptEvent[]; drop: TranscriptEvent[] };
}

type FaultsRecord = ScenarioRecord | DoneRecord | (DriverRecordBase & { event: 'ready' });

interface KickDetails {
  id: string;
  kick: { code: number | string; stdout: string; stderr: string };
  error: { type: string; message: string };
  afterKick: { open: boolean; disconnected: boolean; destroyed: boolean; log: string[] };
  secondOpen: string;
  afterReconnect: { id: string; open: boolean };
  b: string;
  receivedByA: Received[];
  receivedByB: Received[];
}

interface DelayDetails {
  a: string;
  b: string;
  delayMs: number;
  baselineMs: number;
  delayedMs: number;
  faultsSet: { status: number; body: unknown };
}

interface DropDetails {
  a: string;
  b: string;
  watchMs: number;
  outcome: string;
  opened: string[];
  offererSignaling: string;
  answererSignaling: string;
  peersOpen: boolean[];
}

const browserFaults = requires('the browser fault e2e tests', ...browserProblems());

function explain(record: ScenarioRecord): string {
  return [
    `scenario "${record.name}" failed in Chromium after ${record.ms} ms (server ${record.server}): ${record.error ?? '(no message)'}`,
    `page console:\n  ${(record.console ?? []).join('\n  ')}`,
    `server exit: ${JSON.stringify(record.serverExit)}; stderr:\n  ${(record.serverStderr ?? []).join('\n  ')}`,
    `server log:\n  ${(record.serverLog ?? []).join('\n  ')}`,
  ].join('\n');
}

/** The transcript's messages between a and b (either way), in order, without times and payload summaries. */
function between(events: TranscriptEvent[], a: string, b: string): Array<Pick<TranscriptEvent, 'event' | 'type' | 'src' | 'dst'>> {
  return events
    .filter((event) => (event.src === a && event.dst === b) || (event.src === b && event.dst === a))
    .map(({ event, type, src, dst }) => ({ event, type, src, dst }));
}

browserFaults.describe('peerjs in headless Chromium against injected faults', () => {
  const driver = useDriver<FaultsRecord>(DRIVER, 'browser faults driver', { readyMs: READY_MS, stopMs: STOP_MS });

  async function details<T>(name: string): Promise<T> {
    const record = await driver().wait<ScenarioRecord>(`scenario:${name}`, SCENARIO_WAIT_MS);
    if (!record.ok) throw new Error(explain(record));
    return record.details as T;
  }

  /** The transcripts are read once both servers have stopped (and flushed them), so they come with `done`. */
  async function transcripts(): Promise<DoneRecord['transcripts']> {
    return (await driver().wait<DoneRecord>('done', DONE_WAIT_MS)).transcripts;
  }

  it('shows a peer kicked with `peer-signal kick` as disconnected; reconnect() opens the same id, which connects again', async () => {
    const d = await details<KickDetails>('kick-reconnect');
    expect(d.kick.code).toBe(0);
    expect(JSON.parse(d.kick.stdout)).toEqual({ disconnected: d.id });
    // peerjs reports the closed socket as a network error and emits disconnected; the peer is not destroyed.
    expect(d.error).toEqual({ type: 'network', message: 'Lost connection to server.' });
    expect(d.afterKick).toEqual({
      open: false,
      disconnected: true,
      destroyed: false,
      log: [`open(${d.id})`, 'error(network: Lost connection to server.)', `disconnected(${d.id})`],
    });
    expect(d.secondOpen).toBe(d.id);
    expect(d.afterReconnect).toEqual({ id: d.id, open: true });
    expect(d.receivedByB).toEqual([{ kind: 'string', value: 'from a after the kick' }]);
    expect(d.receivedByA).toEqual([{ kind: 'string', value: 'from b after the kick' }]);

    // The server closed the socket with 4002 (disconnected by an operator), then took the same id again.
    const { main } = await transcripts();
    const lifecycle = main.filter((event) => event.id === d.id).map(({ event, code }) => (code === undefined ? event : `${event} ${code}`));
    expect(lifecycle.slice(0, 3)).toEqual(['open', 'close 4002', 'open']);
  }, TEST_TIMEOUT_MS);

  it('delays the DataConnection open by at least the OFFER delay set with PUT admin/faults', async () => {
    const d = await details<DelayDetails>('delayed-offer');
    expect(d.faultsSet).toEqual({ status: 200, body: { faults: { drop: {}, delayMs: { OFFER: d.delayMs } } } });
    expect(d.delayedMs).toBeGreaterThanOrEqual(d.delayMs);
    // Without faults the same pair opens in tens of milliseconds; half the delay leaves room for a loaded machine.
    expect(d.baselineMs).toBeLessThan(d.delayMs / 2);

    // The server held exactly one message, the second OFFER, and relayed it no earlier than the delay.
    const { main } = await transcripts();
    const faults = main.filter((event) => event.event.startsWith('fault-'));
    expect(faults.map(({ event, type, src, dst, ms }) => ({ event, type, src, dst, ms }))).toEqual([
      { event: 'fault-delay', type: 'OFFER', src: d.a, dst: d.b, ms: d.delayMs },
    ]);
    const offers = main.filter((event) => event.event === 'relay' && event.type === 'OFFER' && event.src === d.a);
    expect(offers).toHaveLength(2);
    // Node may fire a timer up to a millisecond early, and t is rounded to 0.1 ms.
    expect(offers[1]!.t - faults[0]!.t).toBeGreaterThanOrEqual(d.delayMs - 2);
  }, TEST_TIMEOUT_MS);

  it('never opens a DataConnection whose ANSWER is dropped (--fault-drop ANSWER=1), as the transcript shows', async () => {
    const d = await details<DropDetails>('dropped-answer');
    expect(d.outcome).toContain(`no "open" within ${d.watchMs} ms`);
    expect(d.opened).toEqual([]);
    // The offerer is still waiting for an answer; the answerer made one, which the server dropped.
    expect(d.offererSignaling).toBe('have-local-offer');
    expect(d.answererSignaling).toBe('stable');
    expect(d.peersOpen).toEqual([true, true]);

    const { drop } = await transcripts();
    const signaling = between(drop, d.a, d.b);
    expect(signaling.filter((event) => event.type !== 'CANDIDATE')).toEqual([
      { event: 'relay', type: 'OFFER', src: d.a, dst: d.b },
      { event: 'fault-drop', type: 'ANSWER', src: d.b, dst: d.a },
    ]);
  }, TEST_TIMEOUT_MS);

  it('closes the browser and stops both servers with exit code 0 afterwards', async () => {
    const done = await driver().wait<DoneRecord>('done', DONE_WAIT_MS);
    expect(done.cleanup, `server stderr:\n${JSON.stringify(done.serverStderr, null, 2)}`).toMatchObject({
      browser: 'ok',
      pages: 'ok',
      main: { code: 0, signal: null },
      drop: { code: 0, signal: null },
    });
    await expect.poll(() => driver().exit, { timeout: 5000 }).toEqual({ code: 0, signal: null });
  }, TEST_TIMEOUT_MS);
});
