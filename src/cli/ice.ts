// `peer-signal ice-servers` (what a peer gets from GET {prefix}/{key}/ice-servers) and `peer-signal turn-config` (coturn's lines for this setup).
import { Command, Option } from 'commander';
import { DEFAULTS, resolveConfig, type Config } from '../config.js';
import { PeerSignalError } from '../errors.js';
import { parseIceUrl } from '../ice/urls.js';
import type { IceServer } from '../ice/credentials.js';
import { isValidId } from '../signaling/protocol.js';
import { addServeOptions, configErrorMessage, configFromOptions } from './options.js';
import { CliError, addExamples, createOutput, usageError } from './output.js';
import { parseIntegerIn } from './parse.js';
import { asObject, failureCode, httpGet, joinUrl, resolveTarget, type HttpAnswer } from './target.js';

interface IceServersOptions {
  url?: string;
  key: string;
  id?: string;
  token?: string;
  timeout: number;
  json?: boolean;
  color?: boolean;
  insecure?: boolean;
}

/** What the route answered, checked: the body a client passes on as `config: { iceServers }`. */
interface IceServersDocument {
  iceServers: IceServer[];
  ttl: number;
}

function isIceServersDocument(value: unknown): value is IceServersDocument {
  const body = asObject(value);
  return (
    body !== undefined &&
    typeof body.ttl === 'number' &&
    Array.isArray(body.iceServers) &&
    body.iceServers.every((server) => Array.isArray(asObject(server)?.urls))
  );
}

/** The route's URL: --url as printed in the listening line's `iceServersUrl`, or the server's base URL plus `/{key}/ice-servers`. */
function routeUrl(options: IceServersOptions): URL {
  const { base } = resolveTarget(options.url);
  const url = base.pathname.endsWith('/ice-servers') ? new URL(base.href) : joinUrl(base, `/${encodeURIComponent(options.key)}/ice-servers`);
  if (options.id !== undefined) url.searchParams.set('id', options.id);
  if (options.token !== undefined) url.searchParams.set('token', options.token);
  return url;
}

async function runIceServers(options: IceServersOptions): Promise<void> {
  const output = createOutput({ color: options.color, json: options.json });
  if (options.id !== undefined && !isValidId(options.id)) {
    throw usageError(`--id "${options.id}" is not a valid peer id; use 1-64 letters or digits, optionally separated by single "-", "_" or " "`);
  }
  const url = routeUrl(options);
  // The token is a credential: failure messages name the route without the query.
  const shown = `${url.origin}${url.pathname}`;
  /** One error line, and with --json also {"url","error"} on stdout (as peers does). */
  const fail = (message: string): never => {
    if (options.json) output.stdout(JSON.stringify({ url: shown, error: message }) + '\n');
    throw new CliError(message);
  };
  let answer: HttpAnswer;
  try {
    answer = await httpGet(url, { timeoutMs: options.timeout, headers: { accept: 'application/json' }, insecure: options.insecure === true });
  } catch (error) {
    return fail(`no server answered at ${shown} (${failureCode(error)}); start one with peer-signal, or pass --url`);
  }
  const reason = String(asObject(answer.json)?.error ?? `HTTP ${answer.status}`);
  if (answer.status === 404) {
    if (/no ICE servers/.test(reason)) fail(`${shown}: ${reason}`);
    fail(`${shown} is not an ice-servers route (${reason}); pass --url with the server's URL (its listening line's url, or iceServersUrl)`);
  }
  if (answer.status === 401) {
    const next = /^(no key|invalid key)/.test(reason) ? "pass the server's key with --key or API_KEY" : 'pass --id and --token (peer-signal token ID mints one)';
    fail(`${shown} refused the request: ${reason}; ${next}`);
  }
  if (answer.status === 429) fail(`${shown}: ${reason}`);
  const body = answer.json;
  if (answer.status !== 200 || !isIceServersDocument(body)) {
    return fail(`${shown} answered HTTP ${answer.status} without a list of ICE servers; check that --url points at peer-signal`);
  }
  if (options.json) {
    output.stdout(JSON.stringify(body) + '\n');
    return;
  }
  for (const server of body.iceServers) {
    const credentials = server.username === undefined ? '' : `  username=${server.username}  credential=${server.credential ?? ''}`;
    output.stdout(`${server.urls.join(' ')}${credentials}\n`);
  }
  const turn = body.iceServers.some((server) => server.username !== undefined);
  const until = new Date(Date.now() + body.ttl * 1000).toISOString();
  const validity = turn ? `; the TURN credentials are valid for ${body.ttl} s (until about ${until})` : '';
  output.stderr(output.err.dim(`${body.iceServers.length} ICE server ${body.iceServers.length === 1 ? 'entry' : 'entries'} from ${shown}${validity}\n`));
}

export function createIceServersCommand(): Command {
  const command = new Command('ice-servers')
    .description('print the STUN/TURN servers (with TURN credentials) a running server hands to peers, as RTCConfiguration.iceServers')
    .addOption(new Option('--url <url>', 'server URL, or its iceServersUrl (default: built from HOST, PORT and PATH_PREFIX)'))
    .addOption(new Option('-k, --key <key>', 'the server key').env('API_KEY').default(DEFAULTS.key))
    .addOption(new Option('--id <id>', 'the peer id the credentials are for (default: a random one)'))
    .addOption(new Option('--token <token>', "the peer's signed token, for a server started with --token-secret"))
    .addOption(new Option('--timeout <ms>', 'time limit for the request').default(3000).argParser(parseIntegerIn(1, 600_000)))
    .addOption(new Option('--insecure', 'accept self-signed HTTPS certificates'))
    .addOption(new Option('--json', 'print the route\'s answer, {"iceServers":[...],"ttl":seconds} (failures as {"url","error"})'))
    .action(async (options: IceServersOptions) => runIceServers(options));
  return addExamples(command, [
    ['peer-signal ice-servers', 'the server HOST, PORT and PATH_PREFIX describe (default 127.0.0.1:9000)'],
    ['peer-signal ice-servers --id alice --token "$(peer-signal token alice)" --json', 'for alice, from a server started with --token-secret'],
    ['peer-signal ice-servers --url http://127.0.0.1:9000/peerjs --key sekret', 'a server started with --key sekret'],
  ]);
}

/** The Config fields turn-config reads, with the same flags and variables as serve. */
const ICE_FIELDS = ['turnSecret', 'turnUrls', 'stunUrls', 'turnTtlSeconds'] as const satisfies readonly (keyof Config)[];

/** turnserver.conf lines that check the credentials `config` hands out. */
export function coturnLines(config: Pick<Readonly<Config>, 'turnSecret' | 'turnUrls'>): string[] {
  // resolveConfig lets a secret through only with TURN URLs, each of which parses.
  const urls = (config.turnUrls ?? []).map((url) => parseIceUrl(url)!);
  const plain = urls.find((url) => url.scheme === 'turn');
  const tls = urls.find((url) => url.scheme === 'turns');
  return [
    '# coturn settings matching peer-signal --turn-secret/--turn-urls (turnserver.conf syntax, or each as a --flag).',
    '# This contains the TURN secret: keep the file readable by coturn only.',
    'use-auth-secret',
    `static-auth-secret=${config.turnSecret}`,
    `realm=${urls[0]!.host}`,
    ...(plain === undefined ? [] : [`listening-port=${plain.port}`]),
    ...(tls === undefined ? [] : [`tls-listening-port=${tls.port}`, '# turns: needs cert=/path/fullchain.pem and pkey=/path/privkey.pem too']),
    'fingerprint',
  ];
}

function runTurnConfig(command: Command): void {
  const output = createOutput({ color: command.opts<{ color?: boolean }>().color });
  let config: Readonly<Config>;
  try {
    config = resolveConfig(configFromOptions(command));
  } catch (error) {
    if (error instanceof PeerSignalError) throw usageError(configErrorMessage(command, error), { cause: error });
    throw error;
  }
  if (config.turnSecret === undefined) {
    throw usageError("no TURN secret; pass --turn-secret or set PEER_SIGNAL_TURN_SECRET (and --turn-urls) exactly as for the server");
  }
  output.stdout(coturnLines(config).join('\n') + '\n');
}

export function createTurnConfigCommand(): Command {
  const command = new Command('turn-config').description(
    "print the coturn settings (use-auth-secret, static-auth-secret, realm, ports) that check the TURN credentials this configuration hands out; it PRINTS THE SECRET",
  );
  addServeOptions(command, ICE_FIELDS);
  command.action((_options, self: Command) => runTurnConfig(self));
  return addExamples(command, [
    [
      'PEER_SIGNAL_TURN_SECRET=... PEER_SIGNAL_TURN_URLS=turn:turn.example.com:3478 peer-signal turn-config > /etc/turnserver.conf',
      'the same variables as the server; the file holds the secret, so make it readable by coturn only',
    ],
    ['peer-signal turn-config --turn-secret "$(cat secret)" --turn-urls turn:127.0.0.1:3478', 'from flags, as serve takes them'],
  ]);
}
