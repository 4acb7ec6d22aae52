// The sequence model: peers in order of appearance, messages grouped by pair, the --peer filter, labels and notes.
import { describe, expect, it } from 'vitest';
import type { TranscriptEvent } from '../../src/transcript/read.js';
import {
  buildSequence,
  countsOf,
  describeEvent,
  describeSummary,
  filterByPeer,
  isFailure,
  pairsOf,
  peerEventsOf,
  peersOf,
} from '../../src/transcript/sequence.js';

const SESSION: TranscriptEvent[] = [
  { t: 1, event: 'open', id: 'bob' },
  { t: 2, event: 'open', id: 'alice' },
  { t: 10, event: 'relay', type: 'OFFER', src: 'alice', dst: 'bob', bytes: 800, queuedMs: 0 },
  { t: 12, event: 'relay', type: 'ANSWER', src: 'bob', dst: 'alice', bytes: 700, queuedMs: 0 },
  { t: 20, event: 'queued', src: 'bob', dst: 'carol' },
  { t: 21, event: 'fault-drop', type: 'CANDIDATE', src: 'alice', dst: 'bob' },
  { t: 120, event: 'expire', src: 'carol', dst: 'bob' },
  { t: 130, event: 'id-taken', id: 'alice' },
  { t: 131, event: 'refused', reason: 'path' },
  { t: 140, event: 'dropped', count: 3 },
  { t: 150, event: 'close', id: 'bob', code: 1001 },
];

describe('peers and pairs', () => {
  it('lists peers in the order they first appear', () => {
    expect(peersOf(SESSION)).toEqual(['bob', 'alice', 'carol']);
  });

  it('groups messages by pair, both directions together, pairs and their two ids sorted', () => {
    const pairs = pairsOf(SESSION);
    expect(pairs.map(({ a, b }) => [a, b])).toEqual([
      ['alice', 'bob'],
      ['bob', 'carol'],
    ]);
    expect(pairs[0]!.events.map((event) => event.t)).toEqual([10, 12, 21]);
    expect(pairs[1]!.events.map((event) => event.event)).toEqual(['queued', 'expire']);
  });

  it('keeps a message to oneself as a pair of one peer', () => {
    const pairs = pairsOf([{ t: 1, event: 'relay', type: 'OFFER', src: 'x', dst: 'x', bytes: 1, queuedMs: 0 }]);
    expect(pairs.map(({ a, b }) => [a, b])).toEqual([['x', 'x']]);
  });

  it('separates peer-level events, in order', () => {
    expect(peerEventsOf(SESSION).map((event) => event.event)).toEqual(['open', 'open', 'id-taken', 'refused', 'dropped', 'close']);
  });

  it('filters by peer: its messages both ways and its own events, plus lost events', () => {
    expect(filterByPeer(SESSION, 'carol').map((event) => event.t)).toEqual([20, 120, 140]);
    expect(filterByPeer(SESSION, 'alice').map((event) => event.t)).toEqual([2, 10, 12, 21, 130, 140]);
    expect(filterByPeer(SESSION, 'nobody').map((event) => event.event)).toEqual(['dropped']);
  });

  it('counts what a headline says', () => {
    expect(countsOf(SESSION)).toEqual({ peers: 3, messages: 2, failures: 5, firstMs: 1, lastMs: 150 });
    expect(countsOf([])).toEqual({ peers: 0, messages: 0, failures: 0, firstMs: 0, lastMs: 0 });
  });

  it('calls EXPIRE, fault injection, ERROR, ID-TAKEN, refusals and lost events failures, and nothing else', () => {
    expect(SESSION.filter(isFailure).map((event) => event.event)).toEqual(['fault-drop', 'expire', 'id-taken', 'refused', 'dropped']);
    expect(isFailure({ t: 0, event: 'fault-delay', type: 'OFFER', src: 'a', dst: 'b', ms: 5 })).toBe(true);
    expect(isFailure({ t: 0, event: 'error', msg: 'x' })).toBe(true);
  });
});

describe('buildSequence', () => {
  it('gives every peer a lane and every event a step: arrows between lane indexes, marks on one lane or across', () => {
    const { lanes, steps } = buildSequence(SESSION);
    expect(lanes).toEqual(['bob', 'alice', 'carol']);
    expect(steps).toHaveLength(SESSION.length);
    expect(steps[2]).toMatchObject({ kind: 'arrow', from: 1, to: 0 });
    expect(steps[3]).toMatchObject({ kind: 'arrow', from: 0, to: 1 });
    expect(steps[6]).toMatchObject({ kind: 'arrow', from: 2, to: 0, event: { event: 'expire' } });
    expect(steps[7]).toMatchObject({ kind: 'mark', lane: 1 });
    expect(steps[8]).toMatchObject({ kind: 'mark', lane: undefined });
    expect(steps.map((step) => step.event)).toEqual(SESSION);
  });
});

describe('labels and notes', () => {
  it.each([
    [{ sdp: { type: 'offer', media: [{ kind: 'application' }] }, connection: 'data' }, 'offer: application (data)'],
    [{ sdp: { type: 'answer', media: [{ kind: 'audio', direction: 'sendrecv' }, { kind: 'video', direction: 'recvonly' }] } }, 'answer: audio sendrecv, video recvonly'],
    [{ sdp: { media: [] } }, 'sdp: no media'],
    [{ candidate: { type: 'host', transport: 'udp' } }, 'candidate host/udp'],
    [{ candidate: { type: 'relay' } }, 'candidate relay'],
    [{ candidate: { type: 'end-of-candidates' } }, 'end of candidates'],
    [{ connection: 'media' }, '(media)'],
    [{}, undefined],
  ])('describes the summary %j as %j', (summary, expected) => {
    expect(describeSummary(summary)).toBe(expected);
  });

  it('reads a hand-edited summary of the wrong shape without throwing', () => {
    for (const summary of [{ sdp: { media: 'audio' } }, { sdp: { media: [null, 3, { kind: 5 }] } }, { candidate: [] }, { sdp: null }]) {
      expect(() => describeSummary(summary as never)).not.toThrow();
    }
    expect(describeSummary({ sdp: { media: [null, { kind: 'audio' }] } } as never)).toBe('sdp: audio');
  });

  it('notes a relay by its summary, or by a whole payload, and the time it waited', () => {
    const relay = { t: 1, event: 'relay', type: 'CANDIDATE', src: 'a', dst: 'b', bytes: 1, queuedMs: 0 } as const;
    expect(describeEvent({ ...relay, summary: { candidate: { type: 'srflx', transport: 'udp' } } })).toEqual({
      label: 'CANDIDATE',
      note: 'candidate srflx/udp',
    });
    const payload = { candidate: { candidate: 'candidate:1 1 tcp 1 10.0.0.1 5 typ host' }, type: 'data' };
    expect(describeEvent({ ...relay, payload, queuedMs: 250 })).toEqual({
      label: 'CANDIDATE',
      note: 'candidate host/tcp (data); waited 250 ms in the queue',
    });
    expect(describeEvent(relay)).toEqual({ label: 'CANDIDATE', note: undefined });
  });

  it('names failures and what they mean', () => {
    expect(describeEvent({ t: 0, event: 'expire', src: 'carol', dst: 'alice' })).toEqual({
      label: 'EXPIRE',
      note: 'from the server: carol is unavailable',
    });
    expect(describeEvent({ t: 0, event: 'fault-drop', type: 'CANDIDATE', src: 'a', dst: 'b' }).note).toBe('dropped by fault injection');
    expect(describeEvent({ t: 0, event: 'fault-delay', type: 'OFFER', src: 'a', dst: 'b', ms: 200 }).note).toBe('held 200 ms by fault injection');
    expect(describeEvent({ t: 0, event: 'error', id: 'm', msg: 'Invalid key provided' })).toEqual({ label: 'ERROR', note: 'Invalid key provided' });
    expect(describeEvent({ t: 0, event: 'refused', reason: 'limit', id: 'm' })).toEqual({ label: 'refused', note: 'limit' });
    expect(describeEvent({ t: 0, event: 'dropped', count: 1 }).note).toBe('1 event not written: the transcript fell behind');
    expect(describeEvent({ t: 0, event: 'open', id: 'a', reconnected: true }).note).toMatch(/reconnected/);
    expect(describeEvent({ t: 0, event: 'close', id: 'a', code: 1006 }).label).toBe('close 1006');
  });
});
