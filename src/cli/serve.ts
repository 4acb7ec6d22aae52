// The default command: flags and env → a session (config, server, listening line) → wait for SIGINT/SIGTERM → an orderly stop.
import { Command } from 'commander';
import { addServeOptions } from './options.js';
import { CliError, ExitCode, addExamples, ignoreOutputErrors, usageError } from './output.js';
import { closest } from './parse.js';
import { handleStopSignals, startSession, type Session } from './session.js';

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

/** Runs the server until SIGINT/SIGTERM. Resolves once it has shut down. */
export async function runServe(command: Command): Promise<void> {
  ignoreOutputErrors();
  const explicit = command.parent?.args.includes('serve') === true;
  const args = command.args[0] === 'serve' ? command.args.slice(1) : command.args;
  if (args.length > 0) {
    const commands = [...(command.parent?.commands ?? []).map((sibling) => sibling.name()), 'help'];
    throw unexpectedArgument(args[0]!, explicit, commands);
  }
  // Signal handlers first: a supervisor may send SIGTERM the moment the listening line is out.
  let session: Session | undefined;
  let requested: (signal: NodeJS.Signals) => void = () => {};
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => (requested = resolve));
  const removeHandlers = handleStopSignals((signal) => requested(signal), () => session?.flushLogs());
  try {
    session = await startSession(command);
  } catch (error) {
    removeHandlers();
    throw error;
  }
  const signal = await stopSignal;
  if (session.output.json) session.logger.info('shutting down', { signal });
  else if (!session.quiet) {
    // Lines about what happened before the signal come before the line about the signal.
    session.flushLogs();
    session.output.stderr(`peer-signal: ${signal} received, shutting down (press Ctrl-C again to force)\n`);
  }
  await session.stop();
  removeHandlers();
  process.exitCode = ExitCode.OK;
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
