// One server run by the CLI (serve, run): flags → config → logger, transcript → server → listening line and ready file; and its orderly stop.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULTS, resolveConfig, type Config, type LogLevel } from '../config.js';
import { PeerSignalError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { plainAddress } from '../hosts.js';
import { createSignalServer, type ListeningInfo, type SignalServer } from '../server.js';
import { combineObservers, type SignalingObserver } from '../signaling/observer.js';
import type { FaultSpec } from '../signaling/faults.js';
import { createTranscript, type Transcript } from '../transcript/writer.js';
import { VERSION } from '../version.js';
import { printListening } from './banner.js';
import { configErrorMessage, configFromOptions, configSource } from './options.js';
import { CliError, ExitCode, createBatchedWriter, createOutput, usageError, type Output, type OutputOptions } from './output.js';

/** The serve options that are not config: they shape the CLI's own output (`--no-color` comes from main.ts). */
interface SessionFlags extends OutputOptions {
  logLevel: LogLevel;
  logTime: 'on' | 'off';
  quiet?: boolean;
  readyFile?: string;
  transcript?: string;
  transcriptPayloads?: boolean;
  faultDrop?: Record<string, number>;
  faultDelay?: Record<string, number>;
  faultSeed?: number;
}

export interface SessionOptions {
  /** Where the listening line and JSON logs go: stdout for serve; stderr for run, whose stdout is the command's. */
  readonly dataToStderr?: boolean;
  /** Defaults that differ from serve's, used where neither a flag nor an environment variable set the value. */
  readonly defaults?: Partial<Pick<Config, 'port' | 'host'>>;
  /** The log level when neither --log-level nor PEER_SIGNAL_LOG_LEVEL set one. */
  readonly defaultLogLevel?: LogLevel;
  /** Told what happens to peers and messages, besides the transcript. */
  readonly observers?: readonly SignalingObserver[];
}

export interface Session {
  readonly config: Readonly<Config>;
  readonly info: ListeningInfo;
  readonly output: Output;
  readonly logger: Logger;
  readonly quiet: boolean;
  /** The transcript file, when one is written. */
  readonly transcriptFile: string | undefined;
  /** Closes peers (1001) and the port, flushes the transcript and the logs, removes the ready file. Idempotent. */
  stop(): Promise<void>;
  /** Writes the log lines waiting in the batch now. */
  flushLogs(): void;
}

/** The peerjs client sends a HEARTBEAT every 5 s (its default pingInterval); a shorter alive timeout cuts idle peers off. */
const CLIENT_HEARTBEAT_MS = 5000;

/** Settings that work but are probably not what was meant: one line each, before the server starts. */
function configWarnings(command: Command, config: Readonly<Config>): string[] {
  const warnings: string[] = [];
  if (config.aliveTimeoutMs < CLIENT_HEARTBEAT_MS) {
    warnings.push(
      `${configSource(command, 'aliveTimeoutMs')} ${config.aliveTimeoutMs} is shorter than the peerjs client's ${CLIENT_HEARTBEAT_MS} ms heartbeat, ` +
        `so idle peers will be disconnected; use ${CLIENT_HEARTBEAT_MS} or more (default ${DEFAULTS.aliveTimeoutMs})`,
    );
  }
  if (config.redisOptional && config.redisUrl === undefined) {
    warnings.push(`${configSource(command, 'redisOptional')} does nothing without --redis (or REDIS_URL): this server runs alone`);
  }
  return warnings;
}

/** resolveConfig and createSignalServer check the config; their errors name the field, ours the flag or variable. */
function asUsageError(command: Command, error: unknown): unknown {
  if (!(error instanceof PeerSignalError)) return error;
  const message = error.code === 'PEER_SIGNAL_ERR_CONFIG' ? configErrorMessage(command, error) : error.message;
  return usageError(message, { cause: error });
}

/** The --json listening line, also what the ready file holds; `iceServersUrl` only where that route hands out servers. */
export function listeningDocument(info: ListeningInfo, config?: Pick<Config, 'stunUrls' | 'turnSecret'>): Record<string, unknown> {
  const ice = config !== undefined && (config.stunUrls !== undefined || config.turnSecret !== undefined);
  return {
    event: 'listening',
    url: info.url,
    wsUrl: info.wsUrl,
    port: info.port,
    host: plainAddress(info.host),
    path: info.path,
    secure: info.secure,
    key: info.client.key,
    client: info.client,
    ...(ice ? { iceServersUrl: `${info.url}/${encodeURIComponent(info.client.key)}/ice-servers` } : {}),
    version: VERSION,
  };
}

/** Writes `text` to `file` so a reader never sees it half-written: a temporary file beside it, then a rename. */
function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  try {
    renameSync(temporary, file);
  } catch (error) {
    // `file` is a directory, say: do not leave the temporary file behind.
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** The faults of --fault-drop, --fault-delay and --fault-seed, or undefined when none is given. */
function faultsFromFlags(flags: SessionFlags): FaultSpec | undefined {
  if (flags.faultDrop === undefined && flags.faultDelay === undefined) return undefined;
  return { drop: flags.faultDrop ?? {}, delayMs: flags.faultDelay ?? {}, ...(flags.faultSeed === undefined ? {} : { seed: flags.faultSeed }) };
}

/**
 * Starts a server the way the CLI does. Usage problems throw a CliError with exit code 2, a server
 * that cannot start one with exit code 1; nothing is left running or written then.
 */
export async function startSession(command: Command, options: SessionOptions = {}): Promise<Session> {
  const flags = command.opts<SessionFlags>();
  const output = createOutput({ color: flags.color, json: flags.json });
  const dataOut = options.dataToStderr === true ? output.stderr : output.stdout;
  let config: Readonly<Config>;
  try {
    const partial = configFromOptions(command);
    for (const [field, value] of Object.entries(options.defaults ?? {})) {
      if (command.getOptionValueSource(field) === 'default') (partial as Record<string, unknown>)[field] = value;
    }
    partial.faults = faultsFromFlags(flags);
    config = resolveConfig(partial);
  } catch (error) {
    throw asUsageError(command, error);
  }
  const requestedLevel =
    command.getOptionValueSource('logLevel') === 'default' && options.defaultLogLevel !== undefined ? options.defaultLogLevel : flags.logLevel;
  // --quiet: errors only, whatever the log level asks for (unless it asks for less).
  const logLevel: LogLevel = flags.quiet && requestedLevel !== 'silent' ? 'error' : requestedLevel;
  const quiet = flags.quiet === true;
  if (logLevel === 'debug' || logLevel === 'info' || logLevel === 'warn') {
    for (const warning of configWarnings(command, config)) output.stderr(`${output.err.yellow('warning:')} ${warning}\n`);
  }
  // Log lines written while starting (e.g. by cluster mode) wait until the listening line is out:
  // with --json the first line must be {"event":"listening",...}.
  const logWriter = createBatchedWriter(output.json ? dataOut : output.stderr);
  // Lines still waiting are the last ones before a crash: 'exit' also fires then, and writes to
  // stdout and stderr are synchronous, so they still get out.
  process.on('exit', logWriter.flush);
  let early: string[] | undefined = [];
  const logger = createLogger({
    level: logLevel,
    json: output.json,
    time: flags.logTime === 'on',
    write: (line) => (early === undefined ? logWriter.write(line) : early.push(line)),
    colorLevel: (level, label) =>
      level === 'error' ? output.err.red(label) : level === 'warn' ? output.err.yellow(label) : output.err.dim(label),
  });

  let transcript: Transcript | undefined;
  if (flags.transcript !== undefined) {
    try {
      transcript = createTranscript({ file: flags.transcript, payloads: flags.transcriptPayloads === true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw usageError(`cannot write the transcript "${flags.transcript}" (${code}); check the path (${configFlag(command, 'transcript')})`, {
        cause: error,
      });
    }
  }
  const observer = combineObservers([...(options.observers ?? []), ...(transcript === undefined ? [] : [transcript.observer])]);
  let server: SignalServer;
  try {
    server = createSignalServer(config, { logger, observer });
  } catch (error) {
    await transcript?.close().catch(() => undefined);
    throw asUsageError(command, error);
  }
  let info: ListeningInfo;
  try {
    info = await server.listen();
  } catch (error) {
    early.forEach((line) => output.stderr(line));
    await transcript?.close().catch(() => undefined);
    if (error instanceof PeerSignalError) throw new CliError(error.message, ExitCode.FAILURE, { cause: error });
    throw error;
  }
  const document = listeningDocument(info, config);
  if (flags.readyFile !== undefined) {
    try {
      writeAtomically(flags.readyFile, JSON.stringify(document) + '\n');
    } catch (error) {
      await server.close();
      await transcript?.close().catch(() => undefined);
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new CliError(`cannot write the ready file "${flags.readyFile}" (${code}); check the path (${configFlag(command, 'readyFile')})`, ExitCode.FAILURE, {
        cause: error,
      });
    }
  }
  if (output.json) dataOut(JSON.stringify(document) + '\n');
  else printListening({ ...output, stdout: dataOut }, config, info, quiet || options.dataToStderr === true);
  const pending = early;
  early = undefined;
  pending.forEach(logWriter.write);

  let stopping: Promise<void> | undefined;
  return {
    config,
    info,
    output,
    logger,
    quiet,
    transcriptFile: flags.transcript,
    flushLogs: logWriter.flush,
    stop() {
      stopping ??= (async () => {
        // Belt and braces: close() is bounded by closeTimeoutMs, but never let a stuck handle keep us alive.
        const backstop = setTimeout(() => {
          logWriter.flush();
          process.exit(ExitCode.OK);
        }, config.closeTimeoutMs + 2000);
        backstop.unref();
        await server.close();
        if (flags.readyFile !== undefined) rmSync(flags.readyFile, { force: true });
        try {
          await transcript?.close();
        } catch (error) {
          logger.error('the transcript could not be written completely', { reason: (error as Error).message });
        }
        clearTimeout(backstop);
        logWriter.flush();
      })();
      return stopping;
    },
  };
}

/** How the user gave a CLI-only option: its flag, or its environment variable. */
function configFlag(command: Command, attribute: 'transcript' | 'readyFile'): string {
  const flag = attribute === 'transcript' ? '--transcript' : '--ready-file';
  const env = attribute === 'transcript' ? 'PEER_SIGNAL_TRANSCRIPT' : 'PEER_SIGNAL_READY_FILE';
  return command.getOptionValueSource(attribute) === 'env' ? env : flag;
}

/**
 * Calls `onFirst` on the first SIGINT or SIGTERM, and exits at once (130/143) on a second, after
 * `beforeExit`. Install it before anything is printed that a supervisor waits for: a signal sent
 * right after the listening line must find the handler. Returns a function that removes it.
 */
export function handleStopSignals(onFirst: (signal: NodeJS.Signals) => void, beforeExit: () => void): () => void {
  let seen = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (seen) {
      // A second signal: the user wants out now.
      beforeExit();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    seen = true;
    onFirst(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
