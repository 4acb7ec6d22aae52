// GET /metrics over a real server: off by default, behind the admin token, parseable, counting events with a fixed label set.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { CLOSE_CODES, OTHER_CODE, REFUSAL_REASONS, RELAYED_TYPES } from '../../src/metrics/counts.js';
import { createSignalServer } from '../../src/server.js';
import { noObserver } from '../../src/signaling/observer.js';
import { serverPerTest } from '../support/server-per-test.js';

const fixture = serverPerTest();
const ADMIN_TOKEN = 'metrics-admin-token-0123456789';

/** Every peer-signal family; the cluster ones appear only in cluster mode. */
const FAMILIES = [
  'peer_signal_build_info',
  'peer_signal_peers_connected',
  'peer_signal_sockets_open',
  'peer_signal_queue_messages',
  'peer_signal_queue_bytes',
  'peer_signal_frames_received_total',
  'peer_signal_relayed_messages_total',
  'peer_signal_messages_queued_total',
  'peer_signal_expires_sent_total',
  'peer_signal_errors_sent_total',
  'peer_signal_id_taken_sent_total',
  'peer_signal_refusals_total',
  'peer_signal_peers_opened_total',
  'peer_signal_peer_reconnects_total',
  'peer_signal_peer_closes_total',
];
/** A few of prom-client's process metrics, event-loop delay among them. */
const PROCESS_FAMILIES = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_used_bytes',
];

interface Family {
  help: string | undefined;
  type: string | undefined;
  samples: Array<{ labels: Record<string, string>; value: number }>;
}

/** Parses the text exposition format strictly: every line is blank, a HELP/TYPE comment, or a sample of a declared family. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let found = families.get(name);
    if (found === undefined) families.set(name, (found = { help: undefined, type: undefined, samples: [] }));
    return found;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (comment !== null) {
      if (comment[1] === 'HELP') family(comment[2]!).help = comment[3];
      else family(comment[2]!).type = comment[3];
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample === null) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const [, name, labelText = '', valueText] = sample;
    // Histogram and summary samples carry a suffix on their family's name.
    const owner = [name!, name!.replace(/_(bucket|sum|count)$/, '')].find((candidate) => families.get(candidate)?.type !== undefined);
    if (owner === undefined) throw new Error(`sample ${name} has no # TYPE line before it`);
    // Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case (prom-client writes `Nan`).
    if (!/^([+-]?(\d+(\.\d*)?(e[+-]?\d+)?|inf)|nan)$/i.test(valueText!)) throw new Error(`sample ${name} has a bad value: ${valueText}`);
    const value = /nan/i.test(valueText!) ? NaN : Number(valueText!.replace(/inf/i, 'Infinity'));
    const labels = Object.fromEntries([...labelText.matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map(([, key, text]) => [key!, text!]));
    families.get(owner)!.samples.push({ labels, value });
  }
  return families;
}

async function scrape(path = '/metrics', headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const response = await fetch(`http://127.0.0.1:${fixture.server.address()!.port}${path}`, { headers });
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

/** The value of one series: `labels` match exactly one sample of `name`. */
function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  return families.get(name)?.samples.find((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))?.value;
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return valueOf(await scrape(), name, labels);
}

function labelValues(families: Map<string, Family>, name: string, label: string): string[] {
  return families.get(name)!.samples.map((sample) => sample.labels[label]!);
}

async function status(path: string, init: RequestInit = {}): Promise<number> {
  return (await fetch(`http://127.0.0.1:${fixture.server.address()!.port}${path}`, init)).status;
}

describe('the metrics route', () => {
  it.each(['/metrics', '/peerjs/metrics'])('GET %s is a 404 without --metrics', async (path) => {
    await fixture.start();
    expect(await status(path)).toBe(404);
  });

  it.each([
    [{}, ['/metrics', '/peerjs/metrics']],
    [{ path: '/signal' }, ['/metrics', '/signal/metrics']],
    [{ path: '/' }, ['/metrics']],
  ] as Array<[Partial<Config>, string[]]>)('with %o answers the text format at %o, HEAD included', async (config, paths) => {
    await fixture.start({ ...config, metrics: true });
    for (const path of paths) {
      const response = await fetch(`http://127.0.0.1:${fixture.server.address()!.port}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await response.text()).toContain('peer_signal_peers_connected 0');
      const head = await fetch(`http://127.0.0.1:${fixture.server.address()!.port}${path}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
    }
  });

  it('needs the admin token when one is set (scheme in any case)', async () => {
    await fixture.start({ metrics: true, adminToken: ADMIN_TOKEN });
    for (const path of ['/metrics', '/peerjs/metrics']) {
      const refused = await fetch(`http://127.0.0.1:${fixture.server.address()!.port}${path}`);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="peer-signal"');
      expect(((await refused.json()) as { error: string }).error).toMatch(/admin token for metrics/);
      expect(await status(path, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}x` } })).toBe(401);
      expect(await status(path, { headers: { Authorization: `Basic ${ADMIN_TOKEN}` } })).toBe(401);
      expect(await status(path, { headers: { Authorization: `bEaReR ${ADMIN_TOKEN}` } })).toBe(200);
    }
  });
});

describe('the exposition', () => {
  it('parses, with help and type for each family, and has every family at zero on a fresh server', async () => {
    await fixture.start({ metrics: true });
    const families = await scrape();
    for (const [name, family] of families) {
      expect(family.help, `# HELP of ${name}`).toBeTruthy();
      expect(family.type, `# TYPE of ${name}`).toMatch(/^(counter|gauge|histogram|summary)$/);
    }
    for (const name of FAMILIES) expect(families.has(name), name).toBe(true);
    for (const name of PROCESS_FAMILIES) expect(families.has(name), name).toBe(true);
    expect([...families.keys()].filter((name) => name.startsWith('peer_signal_cluster_'))).toEqual([]);
    for (const name of FAMILIES.filter((name) => name !== 'peer_signal_build_info')) {
      for (const sample of families.get(name)!.samples) expect(sample.value, `${name} ${JSON.stringify(sample.labels)}`).toBe(0);
    }
    expect(families.get('peer_signal_build_info')!.samples).toEqual([{ labels: { version: expect.any(String) }, value: 1 }]);
    // Counters end in _total, and the labelled ones list their whole label set up front.
    for (const name of FAMILIES) expect(families.get(name)!.type === 'counter', name).toBe(name.endsWith('_total'));
    expect(labelValues(families, 'peer_signal_relayed_messages_total', 'type')).toEqual(RELAYED_TYPES);
    expect(labelValues(families, 'peer_signal_refusals_total', 'reason')).toEqual(REFUSAL_REASONS);
    expect(labelValues(families, 'peer_signal_peer_closes_total', 'code')).toEqual([...CLOSE_CODES.map(String), OTHER_CODE]);
  });

  it('counts opens, reconnects, relays by type, queueing, EXPIREs, ID-TAKENs, ERRORs, refusals and closes', async () => {
    await fixture.start({ metrics: true });
    const alice = await fixture.peer('alice');
    const bob = await fixture.peer('bob');
    alice.send({ type: 'OFFER', dst: 'bob', payload: {} });
    bob.send({ type: 'ANSWER', dst: 'alice', payload: {} });
    alice.send({ type: 'CANDIDATE', dst: 'bob', payload: {} });
    alice.send({ type: 'CANDIDATE', dst: 'bob', payload: {} });
    await bob.next();
    await alice.next();
    await bob.next();
    await bob.next();
    // Queued for an absent peer; EXPIRE at once for an id nobody can hold.
    alice.send({ type: 'OFFER', dst: 'carol', payload: {} });
    alice.send({ type: 'OFFER', dst: 'not a valid id!', payload: {} });
    expect(await alice.next()).toMatchObject({ type: 'EXPIRE' });
    // The same id with another token; the same id and token again (a reconnect).
    const impostor = fixture.raw({ key: 'peerjs', id: 'bob', token: 'another-token' });
    expect(await impostor.next()).toMatchObject({ type: 'ID-TAKEN' });
    const bobAgain = await fixture.peer('bob');
    expect(await bob.closed).toBe(4000);
    // A message without dst gets an ERROR; a wrong key is refused.
    bobAgain.send({ type: 'OFFER', payload: {} });
    expect(await bobAgain.next()).toMatchObject({ type: 'ERROR' });
    const wrongKey = fixture.raw({ key: 'nope', id: 'dave', token: 'token' });
    expect(await wrongKey.next()).toMatchObject({ type: 'ERROR' });

    const families = await scrape();
    expect(valueOf(families, 'peer_signal_relayed_messages_total', { type: 'OFFER' })).toBe(3);
    expect(valueOf(families, 'peer_signal_relayed_messages_total', { type: 'ANSWER' })).toBe(1);
    expect(valueOf(families, 'peer_signal_relayed_messages_total', { type: 'CANDIDATE' })).toBe(2);
    expect(valueOf(families, 'peer_signal_messages_queued_total')).toBe(1);
    expect(valueOf(families, 'peer_signal_queue_messages')).toBe(1);
    expect(valueOf(families, 'peer_signal_queue_bytes')).toBeGreaterThan(0);
    expect(valueOf(families, 'peer_signal_expires_sent_total')).toBe(1);
    expect(valueOf(families, 'peer_signal_refusals_total', { reason: 'queue-full' })).toBe(1);
    expect(valueOf(families, 'peer_signal_id_taken_sent_total')).toBe(1);
    expect(valueOf(families, 'peer_signal_refusals_total', { reason: 'id-taken' })).toBe(1);
    expect(valueOf(families, 'peer_signal_refusals_total', { reason: 'key' })).toBe(1);
    expect(valueOf(families, 'peer_signal_errors_sent_total')).toBe(2);
    expect(valueOf(families, 'peer_signal_peers_opened_total')).toBe(3);
    expect(valueOf(families, 'peer_signal_peer_reconnects_total')).toBe(1);
    // The replaced socket closed with 4000, but the peer stayed: a reconnect is not a close.
    expect(valueOf(families, 'peer_signal_peer_closes_total', { code: '4000' })).toBe(0);
    expect(valueOf(families, 'peer_signal_peers_connected')).toBe(2);
    expect(valueOf(families, 'peer_signal_frames_received_total')).toBe(7);

    alice.ws.close(1000);
    await expect.poll(() => metric('peer_signal_peer_closes_total', { code: '1000' }), { timeout: 5000 }).toBe(1);
    expect(await metric('peer_signal_peers_connected')).toBe(1);
  });

  it('keeps label values bounded: an unknown message type or an odd close code adds no series', async () => {
    await fixture.start({ metrics: true });
    const alice = await fixture.peer('alice');
    const bob = await fixture.peer('bob');
    for (const type of ['FOO', '__proto__', 'constructor', 'x'.repeat(200)]) alice.send({ type, dst: 'bob', payload: {} });
    alice.send({ type: 'OFFER', dst: 'bob', payload: {} });
    // Frames are handled in order: once the OFFER is through, the odd ones have been seen (and ignored).
    expect(await bob.next()).toMatchObject({ type: 'OFFER' });
    for (const code of [4321, 3000, 4999]) {
      const peer = await fixture.peer(`odd${code}`);
      peer.ws.close(code);
    }
    await expect.poll(() => metric('peer_signal_peer_closes_total', { code: OTHER_CODE }), { timeout: 5000 }).toBe(3);

    const families = await scrape();
    expect(labelValues(families, 'peer_signal_relayed_messages_total', 'type')).toEqual(RELAYED_TYPES);
    expect(labelValues(families, 'peer_signal_peer_closes_total', 'code')).toEqual([...CLOSE_CODES.map(String), OTHER_CODE]);
    expect(valueOf(families, 'peer_signal_relayed_messages_total', { type: 'OFFER' })).toBe(1);
    expect(valueOf(families, 'peer_signal_frames_received_total')).toBe(5);
  });

  it('tells a caller-supplied observer too, and keeps two servers in one process apart', async () => {
    const opened: string[] = [];
    await fixture.start({ metrics: true }, { observer: { ...noObserver, peerOpened: (id) => opened.push(id) } });
    const other = createSignalServer({ host: '127.0.0.1', port: 0, metrics: true });
    try {
      await other.listen();
      await fixture.peer('alice');
      expect(opened).toEqual(['alice']);
      expect(await metric('peer_signal_peers_opened_total')).toBe(1);
      expect(await metric('peer_signal_sockets_open')).toBe(1);
      const elsewhere = parseExposition(await (await fetch(`http://127.0.0.1:${other.address()!.port}/metrics`)).text());
      expect(valueOf(elsewhere, 'peer_signal_peers_opened_total')).toBe(0);
      expect(valueOf(elsewhere, 'peer_signal_sockets_open')).toBe(0);
    } finally {
      await other.close();
    }
  });
});
