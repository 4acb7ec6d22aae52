// Reading a transcript back: NDJSON lines into typed events, each bad line skipped with a warning that names its number.
import type { PayloadSummary } from './summarize.js';

interface At {
  /** Milliseconds since the transcript started (monotonic, 0.1 ms). */
  readonly t: number;
}

export type OpenEvent = At & { readonly event: 'open'; readonly id: string; readonly reconnected?: boolean };
export type CloseEvent = At & { readonly event: 'close'; readonly id: string; readonly code: number };
export type LeaveEvent = At & { readonly event: 'leave'; readonly id: string };
/** A message delivered from src to dst, after `queuedMs` in dst's queue. */
export type RelayEvent = At & {
  readonly event: 'relay';
  readonly type: string;
  readonly src: string;
  readonly dst: string;
  readonly bytes: number;
  readonly queuedMs: number;
  readonly summary?: PayloadSummary;
  readonly payload?: unknown;
};
/** dst was absent: the message waits in its queue. */
export type QueuedEvent = At & { readonly event: 'queued'; readonly src: string; readonly dst: string };
/** The server told dst that src is unavailable (as the EXPIRE frame says it: src is the absent peer). */
export type ExpireEvent = At & { readonly event: 'expire'; readonly src: string; readonly dst: string };
export type ErrorEvent = At & { readonly event: 'error'; readonly id?: string; readonly msg: string };
export type IdTakenEvent = At & { readonly event: 'id-taken'; readonly id: string };
export type RefusedEvent = At & { readonly event: 'refused'; readonly reason: string; readonly id?: string };
export type FaultDropEvent = At & { readonly event: 'fault-drop'; readonly type: string; readonly src: string; readonly dst: string };
export type FaultDelayEvent = At & {
  readonly event: 'fault-delay';
  readonly type: string;
  readonly src: string;
  readonly dst: string;
  readonly ms: number;
};
/** Events the writer could not write (the disk fell behind). */
export type DroppedEvent = At & { readonly event: 'dropped'; readonly count: number };

export type TranscriptEvent =
  | OpenEvent
  | CloseEvent
  | LeaveEvent
  | RelayEvent
  | QueuedEvent
  | ExpireEvent
  | ErrorEvent
  | IdTakenEvent
  | RefusedEvent
  | FaultDropEvent
  | FaultDelayEvent
  | DroppedEvent;

export type EventName = TranscriptEvent['event'];

/** A line that was skipped, and why. */
export interface ReadWarning {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly message: string;
}

type LineResult = { readonly event: TranscriptEvent } | { readonly warning: ReadWarning } | undefined;

type FieldKind = 'string' | 'number' | 'boolean' | 'object';

/** The fields each event must (`true`) or may (`false`) carry, with their JSON type. */
const FIELDS: Record<EventName, Record<string, [FieldKind, boolean]>> = {
  open: { id: ['string', true], reconnected: ['boolean', false] },
  close: { id: ['string', true], code: ['number', true] },
  leave: { id: ['string', true] },
  relay: {
    type: ['string', true],
    src: ['string', true],
    dst: ['string', true],
    bytes: ['number', true],
    queuedMs: ['number', true],
    summary: ['object', false],
  },
  queued: { src: ['string', true], dst: ['string', true] },
  expire: { src: ['string', true], dst: ['string', true] },
  error: { id: ['string', false], msg: ['string', true] },
  'id-taken': { id: ['string', true] },
  refused: { reason: ['string', true], id: ['string', false] },
  'fault-drop': { type: ['string', true], src: ['string', true], dst: ['string', true] },
  'fault-delay': { type: ['string', true], src: ['string', true], dst: ['string', true], ms: ['number', true] },
  dropped: { count: ['number', true] },
};

function kindOf(value: unknown): FieldKind | 'other' {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return Number.isFinite(value) ? 'number' : 'other';
  if (typeof value === 'boolean') return 'boolean';
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return 'object';
  return 'other';
}

/** Why `fields` is not a valid event, or undefined when it is one. */
function problemWith(fields: Record<string, unknown>): string | undefined {
  if (kindOf(fields.t) !== 'number' || (fields.t as number) < 0) return '"t" must be a number of milliseconds';
  if (typeof fields.event !== 'string') return 'no "event" name';
  if (!Object.hasOwn(FIELDS, fields.event)) return `unknown event ${JSON.stringify(fields.event.slice(0, 40))}`;
  for (const [name, [kind, required]] of Object.entries(FIELDS[fields.event as EventName])) {
    const value = fields[name];
    if (value === undefined && !required) continue;
    if (value === undefined) return `"${fields.event}" without "${name}"`;
    if (kindOf(value) !== kind) return `"${fields.event}" has a "${name}" that is not ${kind === 'object' ? 'an' : 'a'} ${kind}`;
  }
  return undefined;
}

/**
 * One line of a transcript: the event, a warning saying why the line is skipped, or undefined for a
 * blank line. Fields an event does not know are kept, so `--json` passes on what a newer writer added.
 */
function parseLine(text: string, line: number): LineResult {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { warning: { line, message: `not JSON (${(error as Error).message})` } };
  }
  if (kindOf(value) !== 'object') return { warning: { line, message: 'not a JSON object' } };
  const problem = problemWith(value as Record<string, unknown>);
  if (problem !== undefined) return { warning: { line, message: problem } };
  return { event: value as TranscriptEvent };
}

export interface ParsedTranscript {
  readonly events: TranscriptEvent[];
  readonly warnings: ReadWarning[];
}

/** Every line of a transcript's text, in order. */
export function parseTranscript(text: string): ParsedTranscript {
  const events: TranscriptEvent[] = [];
  const warnings: ReadWarning[] = [];
  // A byte order mark from an editor would make the first line unreadable.
  text.replace(/^\ufeff/, '').split('\n').forEach((line, index) => {
    const result = parseLine(line, index + 1);
    if (result === undefined) return;
    if ('event' in result) events.push(result.event);
    else warnings.push(result.warning);
  });
  return { events, warnings };
}
