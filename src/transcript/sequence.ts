// A transcript as a sequence: who is in it, the messages per pair of peers, and a label and note for every event.
import type { PayloadSummary } from './summarize.js';
import { summarizePayload } from './summarize.js';
import type {
  DroppedEvent,
  ErrorEvent,
  ExpireEvent,
  FaultDelayEvent,
  FaultDropEvent,
  QueuedEvent,
  RelayEvent,
  TranscriptEvent,
} from './read.js';

/** An event between two peers: it has a sender (src) and a receiver (dst). */
export type PairEvent = RelayEvent | QueuedEvent | ExpireEvent | FaultDropEvent | FaultDelayEvent;
/** An event of one peer (open, close, leave, error, id-taken, refused), or of none (dropped; error or refused without an id). */
export type PeerEvent = Exclude<TranscriptEvent, PairEvent>;

const PAIR_EVENTS = new Set<TranscriptEvent['event']>(['relay', 'queued', 'expire', 'fault-drop', 'fault-delay']);

export function isPairEvent(event: TranscriptEvent): event is PairEvent {
  return PAIR_EVENTS.has(event.event);
}

/** The peer a peer-level event is about, if any. */
export function peerOf(event: PeerEvent): string | undefined {
  return event.event === 'dropped' ? undefined : event.id;
}

const FAILURES = new Set<TranscriptEvent['event']>(['expire', 'fault-drop', 'fault-delay', 'error', 'id-taken', 'refused', 'dropped']);

/** Something went wrong, or was made to (fault injection), or the transcript itself lost events. */
export function isFailure(event: TranscriptEvent): boolean {
  return FAILURES.has(event.event);
}

/** Whether `peer` sent, received or is the subject of `event`. `dropped` involves everyone: the lost events may be theirs. */
export function involves(event: TranscriptEvent, peer: string): boolean {
  if (isPairEvent(event)) return event.src === peer || event.dst === peer;
  if (event.event === 'dropped') return true;
  return peerOf(event) === peer;
}

/** The events that involve `peer`, in order. */
export function filterByPeer(events: readonly TranscriptEvent[], peer: string): TranscriptEvent[] {
  return events.filter((event) => involves(event, peer));
}

/** Every peer id in the events, in the order each first appears. */
export function peersOf(events: readonly TranscriptEvent[]): string[] {
  const seen = new Set<string>();
  for (const event of events) {
    if (isPairEvent(event)) {
      seen.add(event.src);
      seen.add(event.dst);
    } else {
      const id = peerOf(event);
      if (id !== undefined) seen.add(id);
    }
  }
  return [...seen];
}

/** Milliseconds as seconds with three decimals: 1234.5 → `1.235` (rounded in ms first: 30.5 / 1000 is just under 0.0305). */
export function formatSeconds(ms: number): string {
  return (Math.round(ms) / 1000).toFixed(3);
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export interface Counts {
  readonly peers: number;
  /** Relayed (delivered) messages. */
  readonly messages: number;
  readonly failures: number;
  /** The first and last event's time, ms. */
  readonly firstMs: number;
  readonly lastMs: number;
}

/** What a headline says about a transcript. */
export function countsOf(events: readonly TranscriptEvent[]): Counts {
  return {
    peers: peersOf(events).length,
    messages: events.filter((event) => event.event === 'relay').length,
    failures: events.filter(isFailure).length,
    firstMs: events[0]?.t ?? 0,
    lastMs: events[events.length - 1]?.t ?? 0,
  };
}

export interface Pair {
  /** The two peers, sorted: `a` < `b` (one peer twice for messages to itself). */
  readonly a: string;
  readonly b: string;
  /** Their messages, both ways, in time order. */
  readonly events: PairEvent[];
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The messages grouped by pair of peers, pairs sorted by their ids. */
export function pairsOf(events: readonly TranscriptEvent[]): Pair[] {
  const pairs = new Map<string, Pair>();
  for (const event of events) {
    if (!isPairEvent(event)) continue;
    const [a, b] = [event.src, event.dst].sort(compareIds) as [string, string];
    const key = JSON.stringify([a, b]);
    let pair = pairs.get(key);
    if (pair === undefined) pairs.set(key, (pair = { a, b, events: [] }));
    pair.events.push(event);
  }
  return [...pairs.values()].sort((x, y) => compareIds(x.a, y.a) || compareIds(x.b, y.b));
}

/** The peer-level events, in time order. */
export function peerEventsOf(events: readonly TranscriptEvent[]): PeerEvent[] {
  return events.filter((event): event is PeerEvent => !isPairEvent(event));
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * `offer: audio sendrecv, application (data)`, `candidate host/udp`: what a payload summary says, in
 * a few words. Read defensively: a summary in a hand-edited file may have any shape.
 */
export function describeSummary(summary: PayloadSummary | undefined): string | undefined {
  const fields = record(summary);
  if (fields === undefined) return undefined;
  const parts: string[] = [];
  const sdp = record(fields.sdp);
  if (sdp !== undefined) {
    const media = (Array.isArray(sdp.media) ? sdp.media : [])
      .map(record)
      .filter((section) => section !== undefined && text(section.kind) !== undefined)
      .map((section) => [text(section!.kind), text(section!.direction)].filter(Boolean).join(' '));
    parts.push(`${text(sdp.type) ?? 'sdp'}: ${media.length > 0 ? media.join(', ') : 'no media'}`);
  }
  const candidate = record(fields.candidate);
  const candidateType = text(candidate?.type);
  if (candidateType === 'end-of-candidates') parts.push('end of candidates');
  else if (candidateType !== undefined) parts.push(`candidate ${[candidateType, text(candidate?.transport)].filter(Boolean).join('/')}`);
  const connection = text(fields.connection);
  if (connection !== undefined) parts.push(`(${connection})`);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

function relayNote(event: RelayEvent): string | undefined {
  const summary = event.summary ?? (event.payload === undefined ? undefined : summarizePayload(event.payload));
  const notes = [describeSummary(summary)];
  if (event.queuedMs > 0) notes.push(`waited ${event.queuedMs} ms in the queue`);
  const joined = notes.filter(Boolean).join('; ');
  return joined === '' ? undefined : joined;
}

function droppedNote(event: DroppedEvent): string {
  return `${event.count} ${event.count === 1 ? 'event' : 'events'} not written: the transcript fell behind`;
}

function errorNote(event: ErrorEvent): string {
  return event.id === undefined ? `${event.msg} (to a client without a valid id)` : event.msg;
}

/** What to call an event on its arrow or mark (the message type, or a word), and a short note; the same in every view. */
export function describeEvent(event: TranscriptEvent): { label: string; note?: string } {
  switch (event.event) {
    case 'relay':
      return { label: event.type, note: relayNote(event) };
    case 'queued':
      return { label: 'queued', note: `${event.dst} is not connected: the message waits for it` };
    case 'expire':
      return { label: 'EXPIRE', note: `from the server: ${event.src} is unavailable` };
    case 'fault-drop':
      return { label: event.type, note: 'dropped by fault injection' };
    case 'fault-delay':
      return { label: event.type, note: `held ${event.ms} ms by fault injection` };
    case 'open':
      return event.reconnected === true ? { label: 'open', note: 'reconnected (replaced its socket)' } : { label: 'open' };
    case 'close':
      return { label: `close ${event.code}` };
    case 'leave':
      return { label: 'leave' };
    case 'error':
      return { label: 'ERROR', note: errorNote(event) };
    case 'id-taken':
      return { label: 'ID-TAKEN', note: 'another client asked for this id and was turned away' };
    case 'refused':
      return { label: 'refused', note: event.reason };
    case 'dropped':
      return { label: 'dropped', note: droppedNote(event) };
  }
}

/** An arrow from one lane to another (the same lane for a message to oneself). */
export interface Arrow {
  readonly kind: 'arrow';
  readonly event: PairEvent;
  readonly from: number;
  readonly to: number;
}

/** A mark on one peer's lane, or across all of them (`lane` undefined: no peer, or a `dropped` notice). */
export interface Mark {
  readonly kind: 'mark';
  readonly event: PeerEvent;
  readonly lane: number | undefined;
}

export interface Sequence {
  /** Peer ids, one lane each, in order of first appearance. */
  readonly lanes: string[];
  /** One step per event, in time order. */
  readonly steps: Array<Arrow | Mark>;
}

/** Lanes and steps for a sequence diagram of `events`. */
export function buildSequence(events: readonly TranscriptEvent[]): Sequence {
  const lanes = peersOf(events);
  const index = new Map(lanes.map((peer, at) => [peer, at]));
  const steps = events.map((event): Arrow | Mark => {
    if (isPairEvent(event)) return { kind: 'arrow', event, from: index.get(event.src)!, to: index.get(event.dst)! };
    const id = peerOf(event);
    return { kind: 'mark', event, lane: id === undefined ? undefined : index.get(id) };
  });
  return { lanes, steps };
}
