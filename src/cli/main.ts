// The executable: builds the commander program, runs it, and maps every failure to one `error:` line and an exit code.
import { Command, CommanderError, Option } from 'commander';
import { chalkStderr } from 'chalk';
import { VERSION } from '../version.js';
import { CliError, ExitCode, ignoreClosedOutput } from './output.js';
import { createHealthCommand } from './health.js';
import { createPeersCommand } from './peers.js';
import { createServeCommand } from './serve.js';
import { createTokenCommand } from './token.js';
import { createTranscriptCommand } from './transcript.js';
import { createRunCommand } from './run.js';
import { createFaultsCommand, createKickCommand } from './admin.js';
import { createIceServersCommand, createTurnConfigCommand } from './ice.js';

/** commander prints suggestions on a second line; we promise one line per error. */
function oneLine(text: string): string {
  return text.trim().split('\n').map((line) => line.trim()).filter(Boolean).join(' ') + '\n';
}

function addCommonOptions(command: Command): Command {
  return command
    .addOption(new Option('--no-color', 'disable colours (also NO_COLOR=1)'))
    .addOption(new Option('--debug', 'show stack traces of errors (also DEBUG=peer-signal)'));
}

function buildProgram(): Command {
  const program = new Command('peer-signal')
    .description('A PeerJS-compatible WebRTC signaling server.\nRun without a command to start the server.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    // run passes everything after its command's name to that command (its options included).
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(oneLine(text)) });
  const serve = createServeCommand();
  for (const command of [serve, createHealthCommand(), createPeersCommand(), createTokenCommand(), createRunCommand(), createTranscriptCommand(), createKickCommand(), createFaultsCommand(), createIceServersCommand(), createTurnConfigCommand()]) {
    // `faults` has subcommands: each is a command of its own for options, errors and exit codes.
    for (const each of command.commands.length > 0 ? command.commands : [command]) addCommonOptions(each);
    for (const each of [command, ...command.commands]) each.exitOverride().configureOutput({ outputError: (text, write) => write(oneLine(text)) });
    program.addCommand(command, command.name() === 'serve' ? { isDefault: true } : undefined);
  }
  // `peer-signal --help` is what people run: show the server's options there too, not only under `serve --help`:
  // its option groups, from the first heading to before the trailing "Options:" group (help, shown above).
  program.addHelpText('after', () => {
    const serveHelp = serve.helpInformation();
    const end = serveHelp.search(/^Options:$/m);
    const groups = serveHelp.slice(serveHelp.search(/^\S.* Options:$/m), end === -1 ? undefined : end);
    return (
      `\nServer options (peer-signal [serve] [options]):\n\n${groups.trimEnd()}\n` +
      '\nExamples:\n  peer-signal --port 9000 --allow-discovery\n  peer-signal health --wait 10\n  peer-signal peers --json\n' +
      '  peer-signal serve --help   # more examples (also health --help, peers --help, token --help)\n'
    );
  });
  return program;
}

function debugEnabled(argv: readonly string[]): boolean {
  return argv.includes('--debug') || /(^|,)peer-signal(,|$)/.test(process.env.DEBUG ?? '');
}

/** `health` reports only 0 or 1: Docker reserves exit code 2 for health checks. */
function isHealthCommand(argv: readonly string[]): boolean {
  return argv.slice(2).find((arg) => !arg.startsWith('-')) === 'health';
}

async function main(argv: string[]): Promise<void> {
  ignoreClosedOutput();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; every other commander error is a usage error.
      const success = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);
      process.exitCode = success ? ExitCode.OK : isHealthCommand(argv) ? ExitCode.FAILURE : ExitCode.USAGE;
      return;
    }
    if (error instanceof CliError) {
      process.stderr.write(`${chalkStderr.red('error:')} ${error.message}\n`);
      if (debugEnabled(argv) && error.cause instanceof Error) process.stderr.write(`${error.cause.stack}\n`);
      process.exitCode = isHealthCommand(argv) ? ExitCode.FAILURE : error.exitCode;
      return;
    }
    // A programmer error: crash loudly with the stack.
    throw error;
  }
}

await main(process.argv);
