// `peer-signal kick <id>` and `peer-signal faults set|show|clear`: the admin routes of a running server, for resilience tests.
import { Command, Option } from 'commander';
import { CliError, ExitCode, addExamples, createOutput, type Output } from './output.js';
import { parseFaultPairs, parseIntegerIn } from './parse.js';
import { MAX_FAULT_DELAY_MS } from '../signaling/faults.js';
import { asObject, failureCode, httpCall, joinUrl, resolveTarget, type HttpAnswer } from './target.js';

interface AdminOptions {
  url?: string;
  adminToken?: string;
  timeout: number;
  insecure?: boolean;
  json?: boolean;
  color?: boolean;
}

/** Adds what every admin command takes: where the server is and its admin token. */
function addAdminOptions(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'server URL (default: built from HOST, PORT and PATH_PREFIX)'))
    .addOption(new Option('--admin-token <token>', "the server's admin token (the admin routes exist only with one)").env('PEER_SIGNAL_ADMIN_TOKEN'))
    .addOption(new Option('--timeout <ms>', 'time limit for the request').default(3000).argParser(parseIntegerIn(1, 600_000)))
    .addOption(new Option('--insecure', 'accept self-signed HTTPS certificates'))
    .addOption(new Option('--json', "print the server's answer as JSON"));
}

/** Calls `{prefix}/admin/{route}` and returns its JSON, or throws one CliError saying what to do. */
async function callAdmin(options: AdminOptions, method: string, route: string, json?: unknown): Promise<Record<string, unknown>> {
  if (options.adminToken === undefined) {
    throw new CliError('the admin routes need the admin token; pass --admin-token or set PEER_SIGNAL_ADMIN_TOKEN', ExitCode.USAGE);
  }
  const { base } = resolveTarget(options.url);
  const url = joinUrl(base, `/admin/${route}`);
  let answer: HttpAnswer;
  try {
    answer = await httpCall(url, {
      method,
      json,
      timeoutMs: options.timeout,
      insecure: options.insecure === true,
      headers: { accept: 'application/json', authorization: `Bearer ${options.adminToken}` },
    });
  } catch (error) {
    throw new CliError(`no server answered at ${base.href} (${failureCode(error)}); start one with peer-signal --admin-token ..., or pass --url`);
  }
  const body = asObject(answer.json) ?? {};
  const reason = typeof body.error === 'string' ? body.error : `HTTP ${answer.status}`;
  if (answer.status === 401) throw new CliError(`${base.href}: ${reason}`);
  // Without --admin-token the router has no admin routes and answers "no route for ..." (kick's own 404 names the peer).
  if (answer.status === 404 && (route === 'faults' || reason.startsWith('no route for '))) {
    throw new CliError(`${base.href} has no admin routes: start the server with --admin-token (and check --url's path)`);
  }
  if (answer.status !== 200) throw new CliError(`${base.href}: ${reason}`);
  return body;
}

function printFaults(output: Output, json: boolean, body: Record<string, unknown>): void {
  if (json) {
    output.stdout(JSON.stringify(body) + '\n');
    return;
  }
  const faults = asObject(body.faults) ?? {};
  const drop = Object.entries(asObject(faults.drop) ?? {});
  const delay = Object.entries(asObject(faults.delayMs) ?? {});
  if (drop.length + delay.length === 0) {
    output.stdout('no faults in force\n');
    return;
  }
  for (const [type, probability] of drop) output.stdout(`drop  ${type} with probability ${String(probability)}\n`);
  for (const [type, ms] of delay) output.stdout(`delay ${type} by ${String(ms)} ms\n`);
  if (faults.seed !== undefined) output.stdout(`seed  ${String(faults.seed)}\n`);
}

export function createKickCommand(): Command {
  const command = addAdminOptions(
    new Command('kick').description("disconnect a peer from a running server (needs its --admin-token); the client sees 'disconnected'").argument('<id>', 'the peer id'),
  );
  command.action(async (id: string, options: AdminOptions) => {
    const output = createOutput({ color: options.color, json: options.json });
    const body = await callAdmin(options, 'POST', `peers/${encodeURIComponent(id)}/disconnect`);
    if (options.json) output.stdout(JSON.stringify(body) + '\n');
    else output.stderr(`disconnected ${id}\n`);
  });
  return addExamples(command, [['PEER_SIGNAL_ADMIN_TOKEN=... peer-signal kick alice', "alice's socket is closed (4002); its client can reconnect()"]]);
}

interface SetOptions extends AdminOptions {
  drop?: Record<string, number>;
  delay?: Record<string, number>;
  seed?: number;
}

export function createFaultsCommand(): Command {
  const faults = new Command('faults').description('drop or delay relayed messages by type on a running server (needs its --admin-token)');
  const set = addAdminOptions(new Command('set').description('replace the faults in force'))
    .addOption(new Option('--drop <TYPE=P...>', 'drop messages of TYPE with probability P, e.g. CANDIDATE=0.5').argParser(parseFaultPairs(1, 'P')))
    .addOption(new Option('--delay <TYPE=MS...>', 'hold messages of TYPE for MS milliseconds, e.g. OFFER=200').argParser(parseFaultPairs(MAX_FAULT_DELAY_MS, 'MS')))
    .addOption(new Option('--seed <n>', 'seed of the drop decisions').argParser(parseIntegerIn(0, 2 ** 32 - 1)));
  set.action(async (options: SetOptions) => {
    const spec = { drop: options.drop ?? {}, delayMs: options.delay ?? {}, ...(options.seed === undefined ? {} : { seed: options.seed }) };
    printFaults(createOutput({ color: options.color, json: options.json }), options.json === true, await callAdmin(options, 'PUT', 'faults', spec));
  });
  const show = addAdminOptions(new Command('show').description('print the faults in force'));
  show.action(async (options: AdminOptions) => {
    printFaults(createOutput({ color: options.color, json: options.json }), options.json === true, await callAdmin(options, 'GET', 'faults'));
  });
  const clear = addAdminOptions(new Command('clear').description('stop all faults'));
  clear.action(async (options: AdminOptions) => {
    printFaults(createOutput({ color: options.color, json: options.json }), options.json === true, await callAdmin(options, 'DELETE', 'faults'));
  });
  for (const sub of [set, show, clear]) faults.addCommand(sub);
  return addExamples(faults, [
    ['peer-signal faults set --drop CANDIDATE=0.5 --delay OFFER=200 --seed 1', 'half the candidates lost, offers 200 ms late'],
    ['peer-signal faults show', 'what is in force'],
    ['peer-signal faults clear', 'back to normal'],
  ]);
}
