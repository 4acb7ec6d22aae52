// `peer-signal peers`: list the ids connected to a running server (GET {prefix}/{key}/peers), one per line or as JSON.
import { Command, Option } from 'commander';
import { DEFAULTS } from '../config.js';
import { CliError, ExitCode, createOutput } from './output.js';
import { parseIntegerIn } from './parse.js';
import { httpGet, joinUrl, resolveBaseUrl } from './target.js';

interface PeersOptions {
  url?: string;
  key: string;
  timeout: number;
  json?: boolean;
  color?: boolean;
  insecure?: boolean;
  adminToken?: string;
}

async function runPeers(options: PeersOptions): Promise<void> {
  const output = createOutput({ color: options.color, json: options.json });
  const base = resolveBaseUrl(options.url);
  const url = joinUrl(base, `/${encodeURIComponent(options.key)}/peers`);
  let answer;
  try {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.adminToken !== undefined) headers.authorization = `Bearer ${options.adminToken}`;
    answer = await httpGet(url, options.timeout, headers, options.insecure === true);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new CliError(`no server answered at ${base.href} (${code}); start one with peer-signal, or pass --url`);
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    body = undefined;
  }
  if (answer.status === 401) {
    const reason = body !== null && typeof body === 'object' && 'error' in body ? String(body.error) : 'unauthorized';
    if (/admin token/i.test(reason)) {
      throw new CliError(`${base.href} needs an admin token for the peer list; pass --admin-token or set PEER_SIGNAL_ADMIN_TOKEN`);
    }
    if (/discovery/i.test(reason)) {
      throw new CliError(`peer discovery is off on ${base.href}; restart that server with --allow-discovery (or ALLOW_DISCOVERY=true)`);
    }
    throw new CliError(`${base.href} refused the key (${reason}); pass the server's key with --key or API_KEY`);
  }
  if (answer.status !== 200 || !Array.isArray(body) || !body.every((id) => typeof id === 'string')) {
    throw new CliError(`${url.href} answered HTTP ${answer.status} without a list of peers; check --url points at peer-signal`, ExitCode.FAILURE);
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
  return new Command('peers')
    .description('list the peer ids connected to a running server (needs --allow-discovery on the server)')
    .addOption(new Option('--url <url>', 'server URL (default: built from HOST, PORT and PATH_PREFIX)'))
    .addOption(new Option('-k, --key <key>', 'the server key').env('API_KEY').default(DEFAULTS.key))
    .addOption(new Option('--timeout <ms>', 'time limit for the request').default(3000).argParser(parseIntegerIn(1, 600_000)))
    .addOption(new Option('--admin-token <token>', "the server's admin token, if it has one").env('PEER_SIGNAL_ADMIN_TOKEN'))
    .addOption(new Option('--insecure', 'accept self-signed HTTPS certificates'))
    .addOption(new Option('--json', 'print a JSON array of ids'))
    .action(async (options: PeersOptions) => runPeers(options));
}
