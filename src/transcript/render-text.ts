// The terminal view of a transcript: peer events in time order, then one sequence per pair of peers, failures marked.
import type { ChalkInstance } from 'chalk';
import type { TranscriptEvent } from './read.js';
import { countsOf, describeEvent, formatSeconds, isFailure, pairsOf, peerEventsOf, peerOf, plural, type PairEvent, type Pair } from './sequence.js';

export interface TextOptions {
  /** What the view is of (the file name, and the peer when filtered), for its first line. */
  readonly title: string;
  /** Colours (a chalk instance at level 0 for plain text). */
  readonly colors: ChalkInstance;
}

/** Control characters, C1 controls and bidirectional overrides: a hand-edited file must not drive the terminal. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every character that could move the cursor or change colours written as `\uXXXX`. */
export function cleanForTerminal(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const FAILURE_SIGN = '✗';

function headline(events: readonly TranscriptEvent[], title: string, c: ChalkInstance): string {
  if (events.length === 0) return `${c.bold(title)}: no events\n`;
  const counts = countsOf(events);
  const failures = counts.failures > 0 ? c.red(plural(counts.failures, 'failure')) : 'no failures';
  const span = `${formatSeconds(counts.firstMs)} s to ${formatSeconds(counts.lastMs)} s`;
  return `${c.bold(title)}: ${plural(counts.peers, 'peer')}, ${plural(counts.messages, 'message')}, ${failures} (${span})\n`;
}

/** The note after an event, red and marked when the event is a failure. */
function noteText(event: TranscriptEvent, c: ChalkInstance, withLabel: boolean): string {
  const { label, note } = describeEvent(event);
  const words = cleanForTerminal([withLabel ? label : undefined, note].filter(Boolean).join('  '));
  if (isFailure(event)) return c.red(`${FAILURE_SIGN} ${words}`);
  return withLabel ? words : c.dim(words);
}

function peerSection(events: readonly TranscriptEvent[], time: (ms: number) => string, c: ChalkInstance): string[] {
  const peerEvents = peerEventsOf(events);
  if (peerEvents.length === 0) return [];
  const ids = peerEvents.map((event) => cleanForTerminal(peerOf(event) ?? ''));
  const width = Math.min(24, Math.max(...ids.map((id) => id.length)));
  const lines = peerEvents.map((event, at) => `  ${time(event.t)}  ${c.cyan(ids[at]!.padEnd(width))}  ${noteText(event, c, true)}`);
  return [c.bold('peers'), ...lines];
}

/** How each kind of pair event is drawn: the line and the head. */
function strokeOf(event: PairEvent): { fill: string; head: [right: string, left: string] } {
  switch (event.event) {
    case 'queued':
      return { fill: '┄', head: ['▷', '◁'] };
    case 'fault-drop':
      return { fill: '─', head: ['✕', '✕'] };
    case 'fault-delay':
      return { fill: '┄', head: ['▶', '◀'] };
    default:
      return { fill: '─', head: ['▶', '◀'] };
  }
}

/** `──OFFER─────▶` or `◀─ANSWER─────`, `length` wide, the label starting in the same column either way. */
function arrow(event: PairEvent, rightward: boolean, length: number): string {
  const label = cleanForTerminal(describeEvent(event).label);
  const { fill, head } = strokeOf(event);
  if (rightward) return fill.repeat(2) + label + fill.repeat(Math.max(1, length - 3 - label.length)) + head[0];
  return head[1] + fill + label + fill.repeat(Math.max(2, length - 2 - label.length));
}

function pairSection(pair: Pair, time: (ms: number) => string, arrowLength: number, c: ChalkInstance): string[] {
  const a = cleanForTerminal(pair.a);
  const b = cleanForTerminal(pair.b);
  const lines = pair.events.map((event) => {
    // The pair's first id is always on the left: arrows point the way the message went.
    const rightward = event.src === pair.a;
    const drawn = arrow(event, rightward, arrowLength);
    const coloured = isFailure(event) ? c.red(drawn) : event.event === 'queued' ? c.yellow(drawn) : c.blue(drawn);
    const note = describeEvent(event).note === undefined ? '' : `  ${noteText(event, c, false)}`;
    return `  ${time(event.t)}  ${c.cyan(a)} ${coloured} ${c.cyan(b)}${note}`;
  });
  return [c.bold(`${a} ⇄ ${b}`), ...lines];
}

/**
 * The transcript for a terminal: a headline with counts, the peer-level events (open, close, leave,
 * ERROR, ID-TAKEN, refusals, lost events) in time order, then for each pair of peers, sorted, its
 * messages both ways in time order, one line each: `0.012  alice ──OFFER──▶ bob  offer: application (data)`.
 * Failures are red and marked ✗ (plain text keeps the ✗).
 */
export function renderText(events: readonly TranscriptEvent[], options: TextOptions): string {
  const c = options.colors;
  const out = [headline(events, cleanForTerminal(options.title), c)];
  if (events.length === 0) return out.join('');
  const timeWidth = Math.max(...events.map((event) => formatSeconds(event.t).length));
  const time = (ms: number): string => c.dim(formatSeconds(ms).padStart(timeWidth));
  const pairs = pairsOf(events);
  const labels = pairs.flatMap((pair) => pair.events.map((event) => cleanForTerminal(describeEvent(event).label).length));
  const arrowLength = Math.max(12, ...labels) + 5;
  const sections = [peerSection(events, time, c), ...pairs.map((pair) => pairSection(pair, time, arrowLength, c))];
  for (const lines of sections) if (lines.length > 0) out.push('\n' + lines.join('\n') + '\n');
  return out.join('');
}
