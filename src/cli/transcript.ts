// `peer-signal transcript FILE`: a transcript as message sequences per pair of peers, as JSON, or as an HTML diagram.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChalkInstance } from 'chalk';
import { Command, Option } from 'commander';
import { parseTranscript, type ReadWarning, type TranscriptEvent } from '../transcript/read.js';
import { renderHtml } from '../transcript/render-html.js';
import { cleanForTerminal, renderText } from '../transcript/render-text.js';
import { filterByPeer, peersOf, plural } from '../transcript/sequence.js';
import { CliError, addExamples, createOutput, usageError } from './output.js';
import { closest } from './parse.js';

export interface TranscriptOptions {
  /** Write a self-contained HTML sequence diagram here instead of printing the terminal view. */
  html?: string;
  /** Keep only the events that involve this peer. */
  peer?: string;
  /** Print the (filtered) events as one JSON array. */
  json?: boolean;
  /** false with --no-color. */
  color?: boolean;
}

/** Where the command writes; the CLI's own streams and colour decision unless a test passes others. */
export interface TranscriptIo {
  stdout(text: string): void;
  stderr(text: string): void;
  colors?: { out: ChalkInstance; err: ChalkInstance };
}

/** Past this many, skipped lines are counted in one last warning instead of one each. */
const MAX_WARNINGS = 10;

function reasonOf(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code ?? message;
}

function warn(warnings: readonly ReadWarning[], file: string, io: TranscriptIo, err: ChalkInstance): void {
  for (const warning of warnings.slice(0, MAX_WARNINGS)) {
    io.stderr(`${err.yellow('warning:')} ${cleanForTerminal(file)} line ${warning.line}: ${cleanForTerminal(warning.message)}; line skipped\n`);
  }
  if (warnings.length > MAX_WARNINGS) {
    io.stderr(`${err.yellow('warning:')} ${plural(warnings.length - MAX_WARNINGS, 'more malformed line')} skipped\n`);
  }
}

function peerNotFound(file: string, peer: string, events: readonly TranscriptEvent[]): CliError {
  const peers = peersOf(events);
  const guess = closest(peer, peers);
  const hint = guess === undefined ? '' : `; did you mean "${guess}"?`;
  const known = peers.length === 0 ? 'it names no peers' : `its peers: ${peers.slice(0, 10).join(', ')}${peers.length > 10 ? ', …' : ''}`;
  return new CliError(cleanForTerminal(`no events in ${file} involve peer "${peer}"${hint} (${known})`));
}

/**
 * Reads `file` and prints its terminal view, or its events as JSON (`--json`), or writes an HTML
 * diagram (`--html OUT`; with --json too, the JSON is still printed). A malformed line is skipped
 * with a warning naming its number. Resolves when done (exit 0); rejects with a CliError (exit 1
 * for a file that cannot be read or holds no events, an unknown --peer, an unwritable OUT; 2 for an
 * empty --peer).
 */
export async function runTranscript(file: string, options: TranscriptOptions, io?: TranscriptIo): Promise<void> {
  const output = createOutput({ color: options.color, json: options.json });
  const streams: TranscriptIo = io ?? output;
  const colors = io?.colors ?? { out: output.out, err: output.err };
  if (options.peer !== undefined && options.peer.trim() === '') throw usageError('--peer needs a peer id, such as --peer alice');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file} (${reasonOf(error)}); pass the path of a transcript file`, undefined, { cause: error });
  }
  const parsed = parseTranscript(text);
  warn(parsed.warnings, file, streams, colors.err);
  if (parsed.events.length === 0 && parsed.warnings.length > 0) {
    throw new CliError(`${file} holds no transcript events (${plural(parsed.warnings.length, 'line')} skipped); is it a peer-signal transcript?`);
  }
  let events = parsed.events;
  if (options.peer !== undefined) {
    events = filterByPeer(parsed.events, options.peer);
    if (!events.some((event) => event.event !== 'dropped')) throw peerNotFound(file, options.peer, parsed.events);
  }
  const title = path.basename(file) + (options.peer === undefined ? '' : ` (peer ${options.peer})`);
  if (options.html !== undefined) {
    try {
      await writeFile(options.html, renderHtml(events, { title }));
    } catch (error) {
      throw new CliError(`cannot write ${options.html} (${reasonOf(error)}); pass another path to --html`, undefined, { cause: error });
    }
    const peers = peersOf(events).length;
    streams.stderr(colors.err.dim(`wrote ${cleanForTerminal(options.html)}: ${plural(events.length, 'event')}, ${plural(peers, 'peer')}\n`));
  }
  if (options.json) streams.stdout(JSON.stringify(events) + '\n');
  else if (options.html === undefined) streams.stdout(renderText(events, { title, colors: colors.out }));
}

export function createTranscriptCommand(): Command {
  const command = new Command('transcript')
    .description('show a transcript: the messages between each pair of peers in time order, failures marked; --html for a diagram')
    .argument('<file>', 'the transcript to read (NDJSON, one event per line)')
    .addOption(new Option('--html <out>', 'write a self-contained HTML sequence diagram to this file instead'))
    .addOption(new Option('--peer <id>', 'only the events that involve this peer'))
    .addOption(new Option('--json', 'print the events as one JSON array (after --peer)'))
    .action(async (file: string, options: TranscriptOptions) => runTranscript(file, options));
  return addExamples(command, [
    ['peer-signal transcript run.ndjson', 'who sent what to whom, per pair of peers, failures marked'],
    ['peer-signal transcript run.ndjson --peer alice', "only alice's events"],
    ['peer-signal transcript run.ndjson --html run.html', 'a sequence diagram to open in a browser'],
  ]);
}
