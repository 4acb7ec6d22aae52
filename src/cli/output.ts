// stdout/stderr writers, the colour decision, the spinner factory, and the CLI's error type and exit codes.
import chalk, { chalkStderr, type ChalkInstance } from 'chalk';
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
  const interactive = process.stderr.isTTY === true && !json && env.CI !== 'true' && env.TERM !== 'dumb';
  return {
    json,
    out: chalk,
    err: chalkStderr,
    stdoutIsTTY: process.stdout.isTTY === true,
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    spinner: async (text) => {
      if (!interactive) return undefined;
      const { default: ora } = await import('ora');
      return ora({ text, stream: process.stderr, color: noColor ? false : 'cyan' }).start();
    },
  };
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
