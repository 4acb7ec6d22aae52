// The default command: flags and env → resolveConfig → createSignalServer → print the URL → wait for signals.
import { Command } from 'commander';
import { DEFAULTS, resolveConfig, type Config, type LogLevel } from '../config.js';
import { PeerSignalError } from '../errors.js';
import { createLogger } from '../logger.js';
import { createSignalServer, type ListeningInfo } from '../server.js';
import { printListening } from './banner.js';
import { addServeOptions, configErrorMessage, configFromOptions, configSource } from './options.js';
import { CliError, ExitCode, addExamples, createBatchedWriter, createOutput, ignoreOutputErrors, usageError, type OutputOptions } from './output.js';
import { closest } from './parse.js';

/** The serve options that are not config: they shape the CLI's own output (`--no-color` comes from main.ts). */
interface ServeOutputOptions extends OutputOptions {
  logLevel: LogLevel;
  logTime: 'on' | 'off';
  quiet?: boolean;
}

/** The peerjs client sends a HEARTBEAT every 5 s (its default pingInterval); a shorter alive timeout cuts idle peers off. */
const CLIENT_HEARTBEAT_MS = 5000;

/** serve takes no arguments: a word there is a mistyped command (`helth`) or something that does not belong. */
function unexpectedArgument(word: string, explicit: boolean, commands: readonly string[]): CliError {
  const guess = closest(word, commands);
  if (guess !== undefined && !explicit) {
    return usageError(`unknown command '${word}' (did you mean ${guess}?); run peer-signal --help to see the commands`);
  }
  const suggestion = guess === undefined ? '' : ` (did you mean peer-signal ${guess}?)`;
  const next = explicit ? 'serve takes only options, see peer-signal serve --help' : 'run peer-signal --help to see the commands and options';
  return usageError(`unexpected argument '${word}'${suggestion}; ${next}`);
}

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

/** Runs the server until SIGINT/SIGTERM. Resolves once it has shut down. */
export async function runServe(command: Command): Promise<void> {
  ignoreOutputErrors();
  const options = command.opts<ServeOutputOptions>();
  // Options before the command name (`peer-signal --port 0 serve`) bring the name along as an argument.
  const explicit = command.parent?.args.includes('serve') === true;
  const args = command.args[0] === 'serve' ? command.args.slice(1) : command.args;
  if (args.length > 0) {
    const commands = [...(command.parent?.commands ?? []).map((sibling) => sibling.name()), 'help'];
    throw unexpectedArgument(args[0]!, explicit, commands);
  }
  const output = createOutput({ color: options.color, json: options.json });
  let config: Readonly<Config>;
  try {
    config = resolveConfig(configFromOptions(command));
  } catch (error) {
    throw asUsageError(command, error);
  }
  // --quiet: errors only, whatever --log-level asks for (unless it asks for less).
  const logLevel: LogLevel = options.quiet && options.logLevel !== 'silent' ? 'error' : options.logLevel;
  const quiet = options.quiet === true;
  if (logLevel === 'debug' || logLevel === 'info' || logLevel === 'warn') {
    for (const warning of configWarnings(command, config)) output.stderr(`${output.err.yellow('warning:')} ${warning}\n`);
  }
  // Log lines written while starting (e.g. by cluster mode) wait until the listening line is out:
  // with --json the first stdout line must be {"event":"listening",...}.
  const logWriter = createBatchedWriter(output.json ? output.stdout : output.stderr);
  const write = logWriter.write;
  // Lines still waiting are the last ones before a crash: 'exit' also fires then, and writes to
  // stdout and stderr are synchronous, so they still get out.
  process.on('exit', logWriter.flush);
  let early: string[] | undefined = [];
  const logger = createLogger({
    level: logLevel,
    json: output.json,
    time: options.logTime === 'on',
    write: (line) => (early === undefined ? write(line) : early.push(line)),
    colorLevel: (level, label) =>
      level === 'error' ? output.err.red(label) : level === 'warn' ? output.err.yellow(label) : output.err.dim(label),
  });

  let server;
  try {
    server = createSignalServer(config, { logger });
  } catch (error) {
    throw asUsageError(command, error);
  }
  let info: ListeningInfo;
  try {
    info = await server.listen();
  } catch (error) {
    early?.forEach((line) => output.stderr(line));
    if (error instanceof PeerSignalError) throw new CliError(error.message, ExitCode.FAILURE, { cause: error });
    throw error;
  }
  printListening(output, config, info, quiet);
  const pending = early;
  early = undefined;
  pending.forEach(write);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second signal: the user wants out now.
        logWriter.flush();
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      stopping = true;
      if (output.json) logger.info('shutting down', { signal });
      else if (!quiet) {
        // Lines about what happened before the signal come before the line about the signal.
        logWriter.flush();
        output.stderr(`peer-signal: ${signal} received, shutting down (press Ctrl-C again to force)\n`);
      }
      // Belt and braces: close() is bounded by closeTimeoutMs, but never let a stuck handle keep us alive.
      setTimeout(() => {
        logWriter.flush();
        process.exit(ExitCode.OK);
      }, config.closeTimeoutMs + 2000).unref();
      void server.close().then(() => {
        logWriter.flush();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.exitCode = ExitCode.OK;
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export function createServeCommand(): Command {
  const command = new Command('serve')
    .description('start the signaling server (the default command)')
    .allowExcessArguments(true);
  addServeOptions(command);
  // main.ts adds --no-color and --debug after the table; they belong with the output options.
  command.optionsGroup('Output Options:');
  command.action(async (_options, self: Command) => runServe(self));
  return addExamples(command, [
    ['peer-signal --port 9000 --allow-discovery', 'on all interfaces, peers listed at /peerjs/peerjs/peers'],
    ['peer-signal --host 127.0.0.1 --port 0 --json', 'a free port; the URL as JSON on the first stdout line'],
    ["peer-signal --allowed-origins 'https://*.example.com' --cors 'http://localhost:*'", 'browsers from these origins only'],
    ['peer-signal --proxied true --alive-timeout 30000', 'behind a reverse proxy (the official peerjs spelling)'],
    ['peer-signal --redis redis://127.0.0.1:6379', 'cluster mode: instances share ids through Redis'],
  ]);
}
