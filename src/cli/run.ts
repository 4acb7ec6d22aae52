// `peer-signal run [options] -- <command> [args...]`: a server for the length of one command (an e2e test suite), then a summary.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { Command } from 'commander';
import { createTally, type TallyCounts } from '../signaling/tally.js';
import { addServeOptions } from './options.js';
import { CliError, ExitCode, addExamples, ignoreOutputErrors, inForeground } from './output.js';
import { handleStopSignals, startSession, type Session } from './session.js';

/** A command that cannot be started: the shell's convention. */
const EXIT_NOT_RUNNABLE = 127;

/** What the command finds in its environment: where the server is, for its clients. */
export function serverEnvironment(session: Session): Record<string, string> {
  const { info } = session;
  return {
    PEER_SIGNAL_URL: info.url,
    PEER_SIGNAL_WS_URL: info.wsUrl,
    PEER_SIGNAL_HOST: info.client.host,
    PEER_SIGNAL_PORT: String(info.port),
    PEER_SIGNAL_PATH: info.path,
    PEER_SIGNAL_KEY: info.client.key,
    PEER_SIGNAL_SECURE: String(info.secure),
  };
}

/** The exit code `run` ends with: the command's own, or 128 + the signal's number when a signal ended it. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal === null ? undefined : constants.signals[signal];
  return number === undefined ? ExitCode.FAILURE : 128 + number;
}

/** The summary as one line per topic for stderr: peers, relays by type, failures, refusals, the transcript. */
export function summaryLines(counts: TallyCounts, transcript: string | undefined): string[] {
  const relayed = Object.entries(counts.relayed);
  const total = relayed.reduce((sum, [, count]) => sum + count, 0);
  const refused = Object.entries(counts.refused);
  const lines = [
    `${counts.peers} peer${counts.peers === 1 ? '' : 's'} seen, ${total} message${total === 1 ? '' : 's'} relayed` +
      (relayed.length > 0 ? ` (${relayed.map(([type, count]) => `${type} ${count}`).join(', ')})` : ''),
    `${counts.expires} EXPIRE, ${counts.idTaken} ID-TAKEN, ${counts.errors} ERROR sent` +
      (refused.length > 0 ? `; refused: ${refused.map(([reason, count]) => `${reason} ${count}`).join(', ')}` : ''),
  ];
  if (counts.faults.dropped + counts.faults.delayed > 0) {
    lines.push(`faults: ${counts.faults.dropped} dropped, ${counts.faults.delayed} delayed`);
  }
  if (transcript !== undefined) lines.push(`transcript: ${transcript}`);
  return lines;
}

interface RunFlags {
  summaryJson?: string;
}

async function runCommand(argv: readonly string[], command: Command): Promise<void> {
  ignoreOutputErrors();
  const [file, ...args] = argv;
  if (file === undefined) throw new CliError('run needs a command after --, e.g. peer-signal run -- npm test', ExitCode.USAGE);
  const startedAt = performance.now();
  const tally = createTally();
  let child: ChildProcess | undefined;
  let session: Session | undefined;
  // Signals go to the command first; the server stops once the command has ended. A Ctrl-C in a
  // terminal reaches the command by itself (it is in the same foreground process group), so only a
  // SIGINT sent to `run` alone (from a supervisor, or in the background) is passed on.
  let signalledBeforeStart: NodeJS.Signals | undefined;
  const removeHandlers = handleStopSignals(
    (signal) => {
      if (child === undefined) signalledBeforeStart = signal;
      else if (signal === 'SIGTERM' || !(process.stdin.isTTY === true && inForeground())) child.kill(signal);
    },
    () => {
      child?.kill('SIGKILL');
      session?.flushLogs();
    },
  );
  try {
    session = await startSession(command, {
      dataToStderr: true,
      defaults: { port: 0, host: '127.0.0.1' },
      // The command's output is what matters in CI: the server only says what went wrong.
      defaultLogLevel: 'warn',
      observers: [tally.observer],
    });
  } catch (error) {
    removeHandlers();
    throw error;
  }
  if (signalledBeforeStart !== undefined) {
    await session.stop();
    removeHandlers();
    process.exitCode = exitCodeOf(null, signalledBeforeStart);
    return;
  }

  const started = spawn(file, args, { stdio: 'inherit', env: { ...process.env, ...serverEnvironment(session) } });
  child = started;
  const outcome = await new Promise<{ code: number } | { error: NodeJS.ErrnoException }>((resolve) => {
    started.once('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    started.once('exit', (code, signal) => resolve({ code: exitCodeOf(code, signal) }));
  });
  await session.stop();
  removeHandlers();

  const counts = tally.counts();
  const failed = 'error' in outcome || outcome.code !== 0;
  const exitCode = 'error' in outcome ? EXIT_NOT_RUNNABLE : outcome.code;
  const { output } = session;
  for (const line of summaryLines(counts, session.transcriptFile)) output.stderr(`${output.err.dim('peer-signal:')} ${line}\n`);
  if (failed && session.transcriptFile !== undefined) {
    const html = session.transcriptFile.replace(/(\.ndjson|\.jsonl?)?$/, '.html');
    output.stderr(`${output.err.dim('peer-signal:')} see the sequence diagram: peer-signal transcript ${session.transcriptFile} --html ${html}\n`);
  }
  const { summaryJson } = command.opts<RunFlags>();
  if (summaryJson !== undefined) {
    const summary = { exitCode, durationMs: Math.round(performance.now() - startedAt), ...counts, transcript: session.transcriptFile ?? null };
    writeFileSync(summaryJson, JSON.stringify(summary, null, 2) + '\n');
  }
  if ('error' in outcome) {
    const reason = outcome.error.code === 'ENOENT' ? 'not found (is it on PATH?)' : `${outcome.error.code ?? outcome.error.message}`;
    throw new CliError(`cannot run ${file}: ${reason}`, EXIT_NOT_RUNNABLE);
  }
  process.exitCode = exitCode;
}

export function createRunCommand(): Command {
  const command = new Command('run')
    .description('start a server, run a command with PEER_SIGNAL_URL and friends set, stop the server, exit with its code')
    .usage('[options] -- <command> [args...]')
    .argument('<command...>', 'the command and its arguments, after --')
    // Everything after the command's name is the command's, options included.
    .passThroughOptions();
  addServeOptions(command);
  command.option('--summary-json <file>', 'also write the end summary (and the exit code) to this file as JSON');
  command.optionsGroup('Output Options:');
  command.action(async (argv: string[], _options: unknown, self: Command) => runCommand(argv, self));
  return addExamples(command, [
    ['peer-signal run -- npm test', 'a server on a free port while the tests run; they read PEER_SIGNAL_URL'],
    ['peer-signal run --transcript signal.ndjson -- npx playwright test', 'and a record of who sent what to whom'],
    ["peer-signal run --fault-drop CANDIDATE=0.5 -- sh -c 'npm run e2e'", 'test how the app copes with lost candidates'],
  ]);
}
