// Every `serve` option once (flag, env var, Config field, parser, help, group); commander's options and configFromOptions derive from it.
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_LOG_LEVEL, DEFAULTS, LOG_LEVELS, RANGES, type Config, type RangedField } from '../config.js';
import type { PeerSignalError } from '../errors.js';
import { usageError } from './output.js';
import { checkSecret, collectOrigins, parseBytesIn, parseDurationSeconds, parseFaultPairs, parseIntegerIn, parseOnOff, parseSwitchValue } from './parse.js';
import { MAX_FAULT_DELAY_MS } from '../signaling/faults.js';
import { iceUrlProblem, type IceUrlKind } from '../ice/urls.js';

/** The heading an option appears under in --help ("<group> Options:"), in the order of the table's rows. */
export type HelpGroup = 'Basic' | 'Client Protocol' | 'Security' | 'Limits' | 'Cluster' | 'Output' | 'Testing' | 'TLS';

type Range = { readonly min: number; readonly max: number };

/** How an integer option is written; its bounds come from RANGES[config]. */
const RANGED_PARSERS = {
  integer: ({ min, max }: Range) => parseIntegerIn(min, max),
  ms: ({ min, max }: Range) => parseIntegerIn(min, max, ' of milliseconds'),
  bytes: ({ min, max }: Range) => parseBytesIn(min, max),
  duration: ({ min, max }: Range) => (value: string) => {
    const seconds = parseDurationSeconds(value);
    if (seconds < min || seconds > max) throw new InvalidArgumentError(`It must be a duration from ${min} s to ${max} s, such as 90s, 15m, 1h or 7d.`);
    return seconds;
  },
};

/** Collects `--turn-urls a,b` (repeatable) and `PEER_SIGNAL_TURN_URLS=a,b` into one list, each URL checked as resolveConfig does. */
function collectIceUrls(kind: IceUrlKind): ArgParser {
  return (value: string, previous: string[] | undefined) => {
    const urls = value
      .split(',')
      .map((url) => url.trim())
      .filter((url) => url.length > 0);
    for (const url of urls) {
      const problem = iceUrlProblem(kind, url);
      if (problem !== undefined) throw new InvalidArgumentError(`${problem}.`);
    }
    return [...(previous ?? []), ...urls];
  };
}

/** commander's argParser: the raw text and the value so far (for repeatable options) in, the value out; `any` because each parser has its own. */
type ArgParser = (value: string, previous: any) => unknown;

export interface ServeOption {
  /** commander's spelling: optional short alias, long flag, and `<value>` when it takes one. */
  flags: string;
  /** Help text; hidden aliases have none. */
  help?: string;
  group?: HelpGroup;
  /** The environment variable that sets it when the flag is absent. */
  env?: string;
  /** A legacy variable that ranks below both the flag and `env` (a plain string value). */
  fallbackEnv?: string;
  /** The Config field it feeds; output options have none. */
  config?: keyof Config;
  /** A ranged integer (bounds from RANGES[config]) or a commander argParser for anything else. */
  parse?: keyof typeof RANGED_PARSERS | ArgParser;
  choices?: readonly string[];
  /** The default of an option without a config field; the others take theirs from DEFAULTS. */
  default?: unknown;
  /** The value is the path of a PEM file whose contents go into the config. */
  file?: true;
  /** Checked here rather than by commander, whose error message would quote the rejected value. */
  secret?: true;
  /** A hidden spelling of the official `peerjs` CLI: the long flag of the option it stands for. */
  aliasOf?: string;
}

export const SERVE_OPTIONS: readonly ServeOption[] = [
  { flags: '-p, --port <n>', group: 'Basic', env: 'PORT', config: 'port', parse: 'integer', help: 'port to listen on; 0 picks a free one' },
  { flags: '-H, --host <addr>', group: 'Basic', env: 'HOST', config: 'host', help: 'address to bind (:: is all interfaces)' },
  {
    flags: '--path <prefix>',
    group: 'Basic',
    env: 'PATH_PREFIX',
    fallbackEnv: 'PEERSERVER_PATH',
    config: 'path',
    help: 'URL prefix of the API and WebSocket',
  },
  { flags: '-k, --key <key>', group: 'Basic', env: 'API_KEY', config: 'key', help: 'API key clients must use' },
  {
    flags: '--allow-discovery',
    group: 'Basic',
    env: 'ALLOW_DISCOVERY',
    config: 'allowDiscovery',
    help: 'let GET {path}/{key}/peers list connected ids',
  },

  {
    flags: '--expire-timeout <ms>',
    group: 'Client Protocol',
    env: 'PEER_SIGNAL_EXPIRE_TIMEOUT',
    config: 'expireTimeoutMs',
    parse: 'ms',
    help: 'how long messages for an absent peer wait before the sender gets EXPIRE',
  },
  {
    flags: '--alive-timeout <ms>',
    group: 'Client Protocol',
    env: 'PEER_SIGNAL_ALIVE_TIMEOUT',
    config: 'aliveTimeoutMs',
    parse: 'ms',
    help: 'close peers silent (no frame, no pong) for this long',
  },
  {
    flags: '--stun-urls <urls>',
    group: 'Client Protocol',
    env: 'PEER_SIGNAL_STUN_URLS',
    config: 'stunUrls',
    parse: collectIceUrls('stun'),
    help: 'STUN servers GET {path}/{key}/ice-servers lists: stun:host[:port], comma-separated',
  },
  {
    flags: '--turn-urls <urls>',
    group: 'Client Protocol',
    env: 'PEER_SIGNAL_TURN_URLS',
    config: 'turnUrls',
    parse: collectIceUrls('turn'),
    help: 'TURN servers listed with credentials: turn:host[:port][?transport=udp|tcp] or turns:..., comma-separated; needs --turn-secret',
  },
  {
    flags: '--turn-secret <secret>',
    group: 'Client Protocol',
    env: 'PEER_SIGNAL_TURN_SECRET',
    config: 'turnSecret',
    secret: true,
    help: "coturn's static-auth-secret: sign short-lived TURN credentials with it (prefer the env var; see peer-signal turn-config)",
  },
  {
    flags: '--turn-ttl <duration>',
    group: 'Client Protocol',
    env: 'PEER_SIGNAL_TURN_TTL',
    config: 'turnTtlSeconds',
    parse: 'duration',
    help: 'how long TURN credentials stay valid: seconds, or 90s, 15m, 1h, 1d',
  },

  {
    flags: '--cors <origin...>',
    group: 'Security',
    env: 'PEER_SIGNAL_CORS',
    config: 'cors',
    parse: collectOrigins,
    help: 'allowed CORS origins, space- or comma-separated (default: reflect any origin)',
  },
  {
    flags: '--allowed-origins <origin...>',
    group: 'Security',
    env: 'PEER_SIGNAL_ALLOWED_ORIGINS',
    config: 'allowedOrigins',
    parse: collectOrigins,
    help: 'WebSocket Origin allow-list, space- or comma-separated (default: any)',
  },
  {
    flags: '--admin-token <token>',
    group: 'Security',
    env: 'PEER_SIGNAL_ADMIN_TOKEN',
    config: 'adminToken',
    secret: true,
    help: 'require Authorization: Bearer <token> for the peer list (prefer the env var)',
  },
  {
    flags: '--token-secret <secret>',
    group: 'Security',
    env: 'PEER_SIGNAL_TOKEN_SECRET',
    config: 'tokenSecret',
    secret: true,
    help: 'accept only ids with a token signed by this secret (prefer the env var)',
  },
  {
    flags: '--proxied',
    group: 'Security',
    env: 'PEER_SIGNAL_PROXIED',
    config: 'proxied',
    help: 'trust X-Forwarded-For from a reverse proxy (the right-most entry, see --proxy-hops)',
  },
  {
    flags: '--proxy-hops <n>',
    group: 'Security',
    env: 'PEER_SIGNAL_PROXY_HOPS',
    config: 'proxyHops',
    parse: 'integer',
    help: 'with --proxied: how many proxies append to X-Forwarded-For; the client address is that many entries from the right',
  },

  {
    flags: '--concurrent-limit <n>',
    group: 'Limits',
    env: 'PEER_SIGNAL_CONCURRENT_LIMIT',
    config: 'concurrentLimit',
    parse: 'integer',
    help: 'most peers connected at once',
  },
  {
    flags: '--max-message-size <bytes>',
    group: 'Limits',
    env: 'PEER_SIGNAL_MAX_MESSAGE_SIZE',
    config: 'maxMessageSizeBytes',
    parse: 'bytes',
    help: 'largest frame accepted; a larger one closes that socket with 1009',
  },
  {
    flags: '--rate-limit <msgs/s>',
    group: 'Limits',
    env: 'PEER_SIGNAL_RATE_LIMIT',
    config: 'rateLimitPerSec',
    parse: 'integer',
    help: 'frames per second per socket, heartbeats included; 0 disables',
  },
  {
    flags: '--rate-burst <n>',
    group: 'Limits',
    env: 'PEER_SIGNAL_RATE_BURST',
    config: 'rateBurst',
    parse: 'integer',
    help: 'frames a socket may send at once above the rate',
  },
  {
    flags: '--rate-bytes <bytes/s>',
    group: 'Limits',
    env: 'PEER_SIGNAL_RATE_BYTES',
    config: 'rateBytesPerSec',
    parse: 'bytes',
    help: 'bytes per second per socket (frame payloads); above it ERROR and close 1008; 0 disables',
  },
  {
    flags: '--rate-bytes-burst <bytes>',
    group: 'Limits',
    env: 'PEER_SIGNAL_RATE_BYTES_BURST',
    config: 'rateBytesBurst',
    parse: 'bytes',
    help: 'bytes a socket may send at once above --rate-bytes (at least --max-message-size)',
  },
  {
    flags: '--queue-limit <n>',
    group: 'Limits',
    env: 'PEER_SIGNAL_QUEUE_LIMIT',
    config: 'queueLimit',
    parse: 'integer',
    help: 'most messages waiting for one absent peer',
  },
  {
    flags: '--queue-bytes <bytes>',
    group: 'Limits',
    env: 'PEER_SIGNAL_QUEUE_BYTES',
    config: 'queueBytes',
    parse: 'bytes',
    help: 'most bytes waiting for one absent peer',
  },
  {
    flags: '--queue-total-bytes <bytes>',
    group: 'Limits',
    env: 'PEER_SIGNAL_QUEUE_TOTAL_BYTES',
    config: 'queueTotalBytes',
    parse: 'bytes',
    help: 'most bytes waiting for all absent peers together',
  },
  {
    flags: '--max-buffered <bytes>',
    group: 'Limits',
    env: 'PEER_SIGNAL_MAX_BUFFERED',
    config: 'maxBufferedBytes',
    parse: 'bytes',
    help: 'a destination with more unsent bytes than this takes no more messages until it reads; senders get EXPIRE for it',
  },
  {
    flags: '--stall-timeout <ms>',
    group: 'Limits',
    env: 'PEER_SIGNAL_STALL_TIMEOUT',
    config: 'stallTimeoutMs',
    parse: 'ms',
    help: 'a peer with unsent data that reads none of it for this long is disconnected',
  },
  {
    flags: '--max-connections-per-ip <n>',
    group: 'Limits',
    env: 'PEER_SIGNAL_MAX_CONNECTIONS_PER_IP',
    config: 'maxConnectionsPerIp',
    parse: 'integer',
    help: 'most WebSocket connections per client address; 0 is no limit',
  },
  {
    flags: '--handshake-timeout <ms>',
    group: 'Limits',
    env: 'PEER_SIGNAL_HANDSHAKE_TIMEOUT',
    config: 'handshakeTimeoutMs',
    parse: 'ms',
    help: 'time a client has to send complete request headers',
  },

  {
    flags: '--redis <url>',
    group: 'Cluster',
    env: 'REDIS_URL',
    config: 'redisUrl',
    help: 'cluster mode: share ids with other instances through this Redis, 7.0 or later (redis:// or rediss://); with --redis-cluster, comma-separated seed nodes',
  },
  {
    flags: '--redis-cluster',
    group: 'Cluster',
    env: 'PEER_SIGNAL_REDIS_CLUSTER',
    config: 'redisCluster',
    help: 'the --redis URLs are Redis Cluster nodes',
  },
  {
    flags: '--redis-prefix <prefix>',
    group: 'Cluster',
    env: 'PEER_SIGNAL_REDIS_PREFIX',
    config: 'redisPrefix',
    help: 'prefix of every Redis key and channel',
  },
  {
    flags: '--redis-optional',
    group: 'Cluster',
    env: 'PEER_SIGNAL_REDIS_OPTIONAL',
    config: 'redisOptional',
    help: 'start alone with a warning when Redis is unreachable at start',
  },
  {
    flags: '--cluster-lease <ms>',
    group: 'Cluster',
    env: 'PEER_SIGNAL_CLUSTER_LEASE',
    config: 'clusterLeaseMs',
    parse: 'ms',
    help: 'an instance that stops renewing its lease for this long is dead; its ids are free within about 4/3 of it',
  },

  {
    flags: '--log-level <level>',
    group: 'Output',
    env: 'PEER_SIGNAL_LOG_LEVEL',
    choices: LOG_LEVELS,
    default: DEFAULT_LOG_LEVEL,
    help: 'log verbosity',
  },
  {
    flags: '--log-time <on|off>',
    group: 'Output',
    env: 'PEER_SIGNAL_LOG_TIME',
    parse: parseOnOff,
    default: 'on',
    help: 'start text log lines with an ISO timestamp (JSON lines always have "time")',
  },
  { flags: '-q, --quiet', group: 'Output', help: 'log errors only, and print the listening line instead of the banner' },
  { flags: '--json', group: 'Output', help: 'machine-readable output: a JSON listening line, then JSON log lines' },
  {
    flags: '--metrics',
    group: 'Output',
    env: 'PEER_SIGNAL_METRICS',
    config: 'metrics',
    help: 'serve Prometheus metrics at GET /metrics and {path}/metrics (behind --admin-token when set); the env var takes true/false',
  },

  {
    flags: '--ready-file <file>',
    group: 'Testing',
    env: 'PEER_SIGNAL_READY_FILE',
    help: 'once listening, write the --json listening line here (atomically); removed on shutdown',
  },
  {
    flags: '--transcript <file>',
    group: 'Testing',
    env: 'PEER_SIGNAL_TRANSCRIPT',
    help: 'write every signaling event here as NDJSON (see peer-signal transcript); payloads summarised',
  },
  {
    flags: '--transcript-payloads',
    group: 'Testing',
    env: 'PEER_SIGNAL_TRANSCRIPT_PAYLOADS',
    help: 'keep relayed payloads (SDP, candidates) whole in the transcript instead of summarising them',
  },
  {
    flags: '--fault-drop <TYPE=P...>',
    group: 'Testing',
    env: 'PEER_SIGNAL_FAULT_DROP',
    parse: parseFaultPairs(1, 'P'),
    help: 'drop relayed messages of TYPE with probability P (0 to 1), e.g. CANDIDATE=0.5; repeatable',
  },
  {
    flags: '--fault-delay <TYPE=MS...>',
    group: 'Testing',
    env: 'PEER_SIGNAL_FAULT_DELAY',
    parse: parseFaultPairs(MAX_FAULT_DELAY_MS, 'MS'),
    help: 'hold relayed messages of TYPE for MS milliseconds before relaying them, e.g. OFFER=200; repeatable',
  },
  {
    flags: '--fault-seed <n>',
    group: 'Testing',
    env: 'PEER_SIGNAL_FAULT_SEED',
    parse: parseIntegerIn(0, 2 ** 32 - 1),
    help: 'seed of the --fault-drop decisions: the same seed drops the same messages',
  },

  {
    flags: '--ssl-key <file>',
    group: 'TLS',
    env: 'PEER_SIGNAL_SSL_KEY',
    config: 'sslKey',
    file: true,
    help: 'PEM private key; with --ssl-cert serves HTTPS/WSS',
  },
  {
    flags: '--ssl-cert <file>',
    group: 'TLS',
    env: 'PEER_SIGNAL_SSL_CERT',
    config: 'sslCert',
    file: true,
    help: 'PEM certificate chain; with --ssl-key serves HTTPS/WSS',
  },

  // The official `peerjs` CLI's spellings, so existing scripts keep working after renaming the command.
  { flags: '-t, --expire_timeout <ms>', aliasOf: '--expire-timeout' },
  { flags: '--alive_timeout <ms>', aliasOf: '--alive-timeout' },
  { flags: '-c, --concurrent_limit <n>', aliasOf: '--concurrent-limit' },
  { flags: '--allow_discovery', aliasOf: '--allow-discovery' },
  { flags: '--sslkey <file>', aliasOf: '--ssl-key' },
  { flags: '--sslcert <file>', aliasOf: '--ssl-cert' },
];

/** The long flag, e.g. `--port`. */
export function longFlag(row: ServeOption): string {
  return new Option(row.flags).long!;
}

/** The value used when neither the flag nor its env var is given. */
export function defaultOf(row: ServeOption): unknown {
  return row.config === undefined ? row.default : DEFAULTS[row.config];
}

/** Whether the option is a switch (takes no value). */
export function isSwitch(row: ServeOption): boolean {
  return !/[<[]/.test(row.flags);
}

function canonicalOf(alias: ServeOption): ServeOption {
  const row = SERVE_OPTIONS.find((candidate) => longFlag(candidate) === alias.aliasOf);
  if (row === undefined) throw new Error(`${alias.flags} is an alias of ${alias.aliasOf}, which is not a serve option`);
  return row;
}

function parserOf(row: ServeOption): ArgParser | undefined {
  if (typeof row.parse !== 'string') return row.parse;
  const range = RANGES[row.config as RangedField] as Range | undefined;
  if (range === undefined) throw new Error(`${row.flags}: its config field ${row.config} has no range in RANGES`);
  return RANGED_PARSERS[row.parse](range);
}

function toOption(row: ServeOption): Option {
  const canonical = row.aliasOf === undefined ? row : canonicalOf(row);
  // A config switch takes an optional true/false, as the official peerjs docs write it (`--proxied true`,
  // `--allow_discovery false`); bare, it still means true. Its variable goes through the same parser.
  const booleanSwitch = canonical.config !== undefined && isSwitch(canonical);
  const flags = booleanSwitch ? `${row.flags} [bool]` : row.flags;
  const parse = booleanSwitch ? parseSwitchValue : parserOf(canonical);
  if (row.aliasOf !== undefined) {
    const option = new Option(flags).hideHelp();
    return parse === undefined ? option : option.argParser(parse);
  }
  const option = new Option(flags, row.help);
  if (row.group !== undefined) option.helpGroup(`${row.group} Options:`);
  if (row.env !== undefined) option.env(row.env);
  const fallback = defaultOf(row);
  // Lists default to empty, which the help text words better than "(default: [])".
  if (fallback !== undefined && !Array.isArray(fallback)) option.default(fallback);
  if (row.choices !== undefined) option.choices(row.choices);
  if (parse !== undefined) option.argParser(parse);
  return option;
}

/**
 * Adds every serve option, or only those feeding `fields` (for commands that must read a setting exactly as
 * serve does, such as turn-config); the defaults shown in --help come from DEFAULTS.
 */
export function addServeOptions(command: Command, fields?: readonly (keyof Config)[]): Command {
  for (const row of SERVE_OPTIONS) {
    if (fields === undefined || (row.aliasOf === undefined && row.config !== undefined && fields.includes(row.config))) command.addOption(toOption(row));
  }
  return command;
}

function attributeName(row: ServeOption): string {
  return new Option(row.flags).attributeName();
}

interface Sourced {
  value: unknown;
  /** Where the value came from, as the user wrote it: the flag (an alias as typed) or the variable; the long flag for a default. */
  label: string;
}

/** The option's value by precedence (its flag, an alias flag, its env var, the fallback env var, the default) and its source. */
function sourced(command: Command, row: ServeOption): Sourced {
  const values = command.opts();
  const name = attributeName(row);
  const source = command.getOptionValueSource(name);
  if (source !== 'cli') {
    const alias = SERVE_OPTIONS.find((candidate) => candidate.aliasOf === longFlag(row) && values[attributeName(candidate)] !== undefined);
    if (alias !== undefined) return { value: values[attributeName(alias)], label: longFlag(alias) };
  }
  if (source === 'env') return { value: values[name], label: row.env! };
  if (source === 'default' && row.fallbackEnv !== undefined && process.env[row.fallbackEnv]) {
    return { value: process.env[row.fallbackEnv], label: row.fallbackEnv };
  }
  return { value: values[name], label: longFlag(row) };
}

/** Where the CLI took a Config field from, as the user wrote it (`--path`, `PATH_PREFIX`), or undefined when no option feeds it. */
export function configSource(command: Command, field: string): string | undefined {
  const row = SERVE_OPTIONS.find((candidate) => candidate.config === field && candidate.aliasOf === undefined);
  return row === undefined ? undefined : sourced(command, row).label;
}

/**
 * resolveConfig's message names Config fields, for library users (`path must be ...`); the CLI's
 * names the flag or variable each value came from instead (`--path must be ...`, `PATH_PREFIX must be ...`).
 */
export function configErrorMessage(command: Command, error: PeerSignalError): string {
  const { field } = error;
  const label = field === undefined ? undefined : configSource(command, field);
  const message = label === undefined ? error.message : label + error.message.slice(field!.length);
  // Any other field it mentions is camelCase (`raise rateBytesBurst or lower maxMessageSizeBytes`).
  return message.replace(/\b[a-z]+(?:[A-Z][a-z]*)+\b/g, (word) => configSource(command, word) ?? word);
}

function readPem(label: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw usageError(`cannot read the ${label} file "${file}" (${code}); check the path and its permissions`, { cause: error });
  }
}

/** Maps parsed options (flags, env, defaults) onto a Config for resolveConfig, which checks it. */
export function configFromOptions(command: Command): Partial<Config> {
  const rows = SERVE_OPTIONS.filter((row) => row.config !== undefined && row.aliasOf === undefined);
  const config: Partial<Record<keyof Config, unknown>> = {};
  const labels: Partial<Record<keyof Config, string>> = {};
  for (const row of rows) ({ value: config[row.config!], label: labels[row.config!] } = sourced(command, row));
  if ((config.sslKey === undefined) !== (config.sslCert === undefined)) {
    const [given, missing] = config.sslKey === undefined ? [labels.sslCert, '--ssl-key'] : [labels.sslKey, '--ssl-cert'];
    throw usageError(`${given} needs ${missing} too: give both to serve HTTPS/WSS, or neither`);
  }
  for (const row of rows) {
    if (row.secret) checkSecret(longFlag(row), row.env!, config[row.config!] as string | undefined);
  }
  for (const row of rows) {
    if (row.file && config[row.config!] !== undefined) config[row.config!] = readPem(labels[row.config!]!, config[row.config!] as string);
  }
  return config as Partial<Config>;
}
