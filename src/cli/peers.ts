// `peer-signal peers`: list the ids connected to a running server (GET {prefix}/{key}/peers), one per line or as JSON.
import { Command, Option } from 'commander';
import { DEFAULTS } from '../config.js';
import { CliError, addExamples, createOutput } from './output.js';
import { parseIntegerIn } from './parse.js';
import { asObject, failureCode, httpGet, joinUrl, resolveTarget, type HttpAnswer } from './target.js';

interface PeersOptions {
  url?: string;
  key: string;
  timeout: number;
  json?: boolean;
  color?: boolean;
  insecure?: boolean;
  adminToken?: string;
}

/** Where an option's value came from, as the user would write it: `from --key`, `from API_KEY`, or the default. */
function sourceOf(command: Command, name: string, flag: string, envVar: string): string {
  const source = command.getOptionValueSource(name);
  return source === 'env' ? `from ${envVar}` : source === 'default' ? '(the default)' : `from ${flag}`;
}

async function runPeers(options: PeersOptions, command: Command): Promise<void> {
  const output = createOutput({ color: options.color, json: options.json });
  const target = resolveTarget(options.url);
  let base = target.base;
  /** Reports a failure: one error line, and with --json also a JSON document on stdout (as health does). */
  const fail = (message: string): never => {
    if (options.json) output.stdout(JSON.stringify({ url: base.href, error: message }) + '\n');
    throw new CliError(message);
  };
  const get = async (url: URL): Promise<HttpAnswer> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.adminToken !== undefined) headers.authorization = `Bearer ${options.adminToken}`;
    try {
      return await httpGet(url, { timeoutMs: options.timeout, headers, insecure: options.insecure === true });
    } catch (error) {
      return fail(`no server answered at ${base.href} (${failureCode(error)}); start one with peer-signal, or pass --url`);
    }
  };
  const suffix = `/${encodeURIComponent(options.key)}/peers`;
  let url = joinUrl(base, suffix);
  let answer = await get(url);
  if (answer.status === 404 && !target.pathGiven) {
    // The prefix was assumed (a bare origin): a server started with --path / describes itself at the root.
    const root = await get(new URL('/', base));
    const path = asObject(root.json)?.path;
    if (typeof path !== 'string') {
      fail(
        `${base.origin} answered, but has no peer list under ${base.pathname}; ` +
          `pass --url ${base.origin}/<path> with the --path that server was started with`,
      );
    }
    base = new URL(`${base.origin}${path === '/' ? '' : String(path)}`);
    url = joinUrl(base, suffix);
    answer = await get(url);
  }
  if (answer.status === 401) {
    const reason = String(asObject(answer.json)?.error ?? 'unauthorized');
    if (/admin token/i.test(reason)) {
      // Whatever an older server says, a token that was sent and answered 401 was refused, not missing.
      if (options.adminToken !== undefined) {
        const from = sourceOf(command, 'adminToken', '--admin-token', 'PEER_SIGNAL_ADMIN_TOKEN');
        fail(`${base.href} refused the admin token ${from}; pass the token that server was started with`);
      }
      fail(`${base.href} needs an admin token for the peer list; pass --admin-token or set PEER_SIGNAL_ADMIN_TOKEN`);
    }
    if (/discovery/i.test(reason)) {
      fail(`peer discovery is off on ${base.href}; restart that server with --allow-discovery (or ALLOW_DISCOVERY=true)`);
    }
    fail(`${base.href} refused the key ${sourceOf(command, 'key', '--key', 'API_KEY')} (${reason}); pass the server's key with --key or API_KEY`);
  }
  const body = answer.json;
  if (answer.status !== 200 || !Array.isArray(body) || !body.every((id) => typeof id === 'string')) {
    fail(`${url.href} answered HTTP ${answer.status} without a list of peers; check that --url points at peer-signal`);
  }
  const ids = body as string[];
  if (options.json) {
    output.stdout(JSON.stringify(ids) + '\n');
    return;
  }
  if (ids.length > 0) output.stdout(ids.join('\n') + '\n');
  output.stderr(output.err.dim(`${ids.length} ${ids.length === 1 ? 'peer' : 'peers'} connected to ${base.href}\n`));
}

export function createPeersCommand(): Command {
  const command = new Command('peers')
    .description('list the peer ids connected to a running server (needs --allow-discovery on the server)')
    .addOption(new Option('--url <url>', 'server URL (default: built from HOST, PORT and PATH_PREFIX)'))
    .addOption(new Option('-k, --key <key>', 'the server key').env('API_KEY').default(DEFAULTS.key))
    .addOption(new Option('--timeout <ms>', 'time limit for the request').default(3000).argParser(parseIntegerIn(1, 600_000)))
    .addOption(new Option('--admin-token <token>', "the server's admin token, if it has one").env('PEER_SIGNAL_ADMIN_TOKEN'))
    .addOption(new Option('--insecure', 'accept self-signed HTTPS certificates'))
    .addOption(new Option('--json', 'print a JSON array of ids (failures as {"url","error"})'))
    .action(async (options: PeersOptions, self: Command) => runPeers(options, self));
  return addExamples(command, [
    ['peer-signal peers', 'the server HOST, PORT and PATH_PREFIX describe (default 127.0.0.1:9000)'],
    ['peer-signal peers --url http://127.0.0.1:9000/signal --key sekret', 'a server started with --path /signal --key sekret'],
    ['PEER_SIGNAL_ADMIN_TOKEN=... peer-signal peers', 'a server started with an admin token'],
    ['peer-signal peers --json | jq length', 'how many peers are connected'],
  ]);
}
