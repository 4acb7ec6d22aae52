// The default command: flags and env → resolveConfig → createSignalServer → print the URL → wait for signals.
import { Command } from 'commander';
import { resolveConfig, type Config, type LogLevel } from '../config.js';
import { PeerSignalError } from '../errors.js';
import { createLogger } from '../logger.js';
import { createSignalServer, type ListeningInfo } from '../server.js';
import { VERSION } from '../version.js';
import { addServeOptions, configFromOptions } from './options.js';
import { CliError, ExitCode, createBatchedWriter, createOutput, usageError, type Output, type OutputOptions } from './output.js';
import { closest } from './parse.js';

/** The serve options that are not config: they shape the CLI's own output (`--no-color` comes from main.ts). */
interface ServeOutputOptions extends OutputOptions {
  logLevel: LogLevel;
}

function printListening(output: Output, config: Readonly<Config>, info: ListeningInfo): void {
  if (output.json) {
    output.stdout(JSON.stringify({ event: 'listening', url: info.url, port: info.port, host: info.host, version: VERSION }) + '\n');
    return;
  }
  if (!output.stdoutIsTTY) {
    output.stdout(`peer-signal listening on ${info.url}\n`);
    return;
  }
  const c = output.out;
  const origin = new URL(info.url);
  const secure = origin.protocol === 'https:';
  const wsUrl = `${secure ? 'wss' : 'ws'}://${origin.host}${config.path === '/' ? '' : config.path}/peerjs`;
  const peerHost = origin.hostname.replace(/^\[|\]$/g, '');
  const snippet =
    `new Peer({ host: '${peerHost}', port: ${info.port}, path: '${config.path}', key: '${config.key}'` +
    `${secure ? ', secure: true' : ''} })`;
  output.stdout(
    [
      '',
      `  ${c.bold.cyan('peer-signal')} ${c.dim(`v${VERSION}`)} ${c.green('ready')}`,
      '',
      `  ${c.dim('HTTP      ')} ${c.cyan(info.url)}`,
      `  ${c.dim('WebSocket ')} ${c.cyan(wsUrl)}`,
      `  ${c.dim('Key       ')} ${config.key}`,
      `  ${c.dim('Discovery ')} ${config.allowDiscovery ? c.green('on') : `off ${c.dim('(--allow-discovery to list peers)')}`}`,
      '',
      `  ${c.dim('Client:')} ${snippet}`,
      '',
      `  ${c.dim('Press Ctrl-C to stop.')}`,
      '',
    ].join('\n') + '\n',
  );
}

/** Runs the server until SIGINT/SIGTERM. Resolves once it has shut down. */
export async function runServe(command: Command): Promise<void> {
  // A reader that goes away (`peer-signal --json | head -1`) must not crash the server with EPIPE:
  // the lost output is the reader's choice, and the peers keep being served.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  const options = command.opts<ServeOutputOptions>();
  if (command.args.length > 0) {
    const guess = closest(command.args[0]!, ['serve', 'health', 'peers', 'token', 'help']);
    throw usageError(
      `unknown command '${command.args[0]}'${guess ? ` (did you mean ${guess}?)` : ''}; run peer-signal --help to see the commands`,
    );
  }
  const output = createOutput({ color: options.color, json: options.json });
  let config: Readonly<Config>;
  try {
    config = resolveConfig(configFromOptions(command));
  } catch (error) {
    if (error instanceof PeerSignalError) throw usageError(error.message, { cause: error });
    throw error;
  }
  const logLevel = options.logLevel;
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
    write: (line) => (early === undefined ? write(line) : early.push(line)),
    colorLevel: (level, label) =>
      level === 'error' ? output.err.red(label) : level === 'warn' ? output.err.yellow(label) : output.err.dim(label),
  });

  let server;
  try {
    server = createSignalServer(config, { logger });
  } catch (error) {
    if (error instanceof PeerSignalError) throw usageError(error.message, { cause: error });
    throw error;
  }
  let info: ListeningInfo;
  try {
    info = await server.listen();
  } catch (error) {
    early?.forEach((line) => output.stderr(line));
    if (error instanceof PeerSignalError) throw new CliError(error.message, ExitCode.FAILURE, { cause: error });
    throw error;
  }
  printListening(output, config, info);
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
      else {
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
  return command;
}
