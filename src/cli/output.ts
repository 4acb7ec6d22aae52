// stdout/stderr writers, the colour decision, the spinner factory, help examples, and the CLI's error type and exit codes.
import { readFileSync } from 'node:fs';
import chalk, { chalkStderr, type ChalkInstance } from 'chalk';
import type { Command } from 'commander';
import type { Ora } from 'ora';

/** Exit codes: 0 success, 1 failure/unhealthy, 2 usage error, 128+n when a second signal forces the exit. */
export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/** A failure the CLI reports as one `error: ...` line and an exit code, without a stack trace. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = ExitCode.FAILURE, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A bad flag, env value or argument: exit 2. */
export function usageError(message: string, options?: { cause?: unknown }): CliError {
  return new CliError(message, ExitCode.USAGE, options);
}

export interface OutputOptions {
  /** `--no-color` was given (commander stores it as color: false). */
  color?: boolean;
  json?: boolean;
}

export interface Output {
  readonly json: boolean;
  /** Colours for stdout. */
  readonly out: ChalkInstance;
  /** Colours for stderr. */
  readonly err: ChalkInstance;
  readonly stdoutIsTTY: boolean;
  stdout(text: string): void;
  stderr(text: string): void;
  /** A spinner on stderr, or undefined when not interactive or in JSON mode (ora loads only then). */
  spinner(text: string): Promise<Ora | undefined>;
}

/**
 * Whether this process is in the foreground of its terminal. A background job (`cmd &`, or under
 * `timeout`, which starts its command in a process group of its own) that touches the terminal's
 * modes is stopped by the kernel (SIGTTOU) until someone sends SIGCONT. Linux says it in
 * /proc/self/stat: the process group (field 5) equals the terminal's foreground group (field 8).
 * Elsewhere, assume the foreground.
 */
export function inForeground(readStat: () => string = () => readFileSync('/proc/self/stat', 'utf8')): boolean {
  if (process.platform !== 'linux') return true;
  let stat: string;
  try {
    stat = readStat();
  } catch {
    return true;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count from after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[2] !== undefined && fields[2] === fields[5];
}

/**
 * Whether a spinner may run on stderr: a TTY with a positive width (ora loops forever on a
 * zero-column terminal), in the foreground, not in CI, not TERM=dumb, not --json.
 */
export function spinnerAllowed(json: boolean, env: NodeJS.ProcessEnv, stderr: { isTTY?: boolean; columns?: number } = process.stderr): boolean {
  if (json || stderr.isTTY !== true || env.CI === 'true' || env.TERM === 'dumb') return false;
  return (stderr.columns ?? 0) > 0 && inForeground();
}

/**
 * chalk honours FORCE_COLOR, TERM=dumb and whether the stream is a TTY, but not NO_COLOR,
 * so NO_COLOR and --no-color are applied here. --json turns colour off for stdout too.
 */
export function createOutput(options: OutputOptions = {}, env: NodeJS.ProcessEnv = process.env): Output {
  const noColor = options.color === false || (env.NO_COLOR ?? '') !== '' || options.json === true;
  if (noColor) {
    chalk.level = 0;
    chalkStderr.level = 0;
  }
  const json = options.json === true;
  return {
    json,
    out: chalk,
    err: chalkStderr,
    stdoutIsTTY: process.stdout.isTTY === true,
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    spinner: async (text) => {
      if (!spinnerAllowed(json, env)) return undefined;
      const { default: ora } = await import('ora');
      // discardStdin would put the terminal in raw mode and read it: the CLI reads no input, and a
      // process that changes the terminal's modes from the background is stopped.
      return ora({ text, stream: process.stderr, color: noColor ? false : 'cyan', discardStdin: false }).start();
    },
  };
}

let outputErrorsIgnored = false;

/**
 * A reader that goes away (`peer-signal --help | head -1`) closes our stdout: what it did not read
 * is its choice, not a failure of ours, so EPIPE ends nothing and prints no stack trace. The exit
 * code stays the command's (0 for help and version). Other write errors still crash, except in a
 * server (see {@link ignoreOutputErrors}).
 */
export function ignoreClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (outputErrorsIgnored || error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
      throw error;
    });
  }
}

/** A server keeps serving its peers whatever becomes of its output (a closed terminal, a full disk). */
export function ignoreOutputErrors(): void {
  outputErrorsIgnored = true;
}

/** Ends the command's --help with examples: each `[command line, what it does]` as a comment and the line. */
export function addExamples(command: Command, examples: ReadonlyArray<readonly [string, string]>): Command {
  const lines = examples.map(([line, comment]) => `  # ${comment}\n  ${line}`);
  return command.addHelpText('after', `\nExamples:\n${lines.join('\n')}\n`);
}

/** How long a log line may wait for others to share its write. */
export const LOG_FLUSH_MS = 50;

/**
 * Collects log lines and writes them at most every LOG_FLUSH_MS, or at once past 64 KiB: writes to
 * a pipe or file are synchronous system calls on Linux, and a busy server logs a line per
 * connection. Flushing once per event-loop turn still cost about 70 µs per connection when peers
 * arrived a few thousand a second (the write, and waking the reader). flush() writes at once: call it
 * before exiting. The timer is unref'd, so pending lines never keep the process alive on their own.
 */
export function createBatchedWriter(write: (text: string) => void): { write(line: string): void; flush(): void } {
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending === '') return;
    const text = pending;
    pending = '';
    write(text);
  };
  return {
    write(line) {
      pending += line;
      if (pending.length > 64 * 1024) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, LOG_FLUSH_MS);
        timer.unref();
      }
    },
    flush,
  };
}
