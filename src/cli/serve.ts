// The default command: flags and env → resolveConfig → createSignalServer → print the URL → wait for signals.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { DEFAULT_LOG_LEVEL, DEFAULTS, LOG_LEVELS, resolveConfig, type Config, type LogLevel } from '../config.js';
import { PeerSignalError } from '../errors.js';
import { createLogger } from '../logger.js';
import { manageYoungGeneration } from './young-generation.js';
import { createSignalServer, type ListeningInfo } from '../server.js';
import { VERSION } from '../version.js';
import { CliError, ExitCode, createBatchedWriter, createOutput, usageError, type Output } from './output.js';
import {
  checkSecret,
  closest,
  collectOrigins,
  parseBooleanWord,
  parseBytesIn,
  parseIntegerIn,
  parseMilliseconds,
  parsePort,
} from './parse.js';

interface ServeOptions {
  port: number;
  host: string;
  path: string;
  key: string;
  allowDiscovery: boolean;
  expireTimeout: number;
  aliveTimeout: number;
  concurrentLimit: number;
  sslKey?: string;
  sslCert?: string;
  cors?: string[];
  proxied: boolean;
  logLevel: LogLevel;
  maxMessageSize: number;
  rateLimit: number;
  rateBurst: number;
  queueLimit: number;
  queueBytes: number;
  queueTotalBytes: number;
  maxBuffered: number;
  maxConnectionsPerIp: number;
  handshakeTimeout: number;
  allowedOrigins?: string[];
  adminToken?: string;
  tokenSecret?: string;
  redis?: string;
  redisPrefix: string;
  redisOptional: boolean;
  clusterLease: number;
  json?: boolean;
  color?: boolean;
  debug?: boolean;
  // Hidden aliases from the official `peerjs` CLI.
  expire_timeout?: number;
  alive_timeout?: number;
  concurrent_limit?: number;
  allow_discovery?: boolean;
  sslkey?: string;
  sslcert?: string;
}

/** Adds every serve option; the defaults shown in --help come from DEFAULTS. */
export function addServeOptions(command: Command): Command {
  return command
    .addOption(new Option('-p, --port <n>', 'port to listen on; 0 picks a free one').env('PORT').default(DEFAULTS.port).argParser(parsePort))
    .addOption(
      new Option('-H, --host <addr>', 'address to bind (:: is all interfaces)').env('HOST').default(DEFAULTS.host),
    )
    .addOption(new Option('--path <prefix>', 'URL prefix of the API and WebSocket').env('PATH_PREFIX').default(DEFAULTS.path))
    .addOption(new Option('-k, --key <key>', 'API key clients must use').env('API_KEY').default(DEFAULTS.key))
    .addOption(
      new Option('--allow-discovery', 'let GET {path}/{key}/peers list connected ids; the env var takes true/false/1/0/yes/no')
        .env('ALLOW_DISCOVERY')
        .default(DEFAULTS.allowDiscovery),
    )
    .addOption(
      new Option('--expire-timeout <ms>', 'how long messages for an absent peer wait before the sender gets EXPIRE')
        .env('PEER_SIGNAL_EXPIRE_TIMEOUT')
        .default(DEFAULTS.expireTimeoutMs)
        .argParser(parseMilliseconds),
    )
    .addOption(
      new Option('--alive-timeout <ms>', 'close peers silent (no frame, no pong) for this long')
        .env('PEER_SIGNAL_ALIVE_TIMEOUT')
        .default(DEFAULTS.aliveTimeoutMs)
        .argParser(parseMilliseconds),
    )
    .addOption(
      new Option('--concurrent-limit <n>', 'most peers connected at once')
        .env('PEER_SIGNAL_CONCURRENT_LIMIT')
        .default(DEFAULTS.concurrentLimit)
        .argParser(parseIntegerIn(1, 10_000_000)),
    )
    .addOption(new Option('--ssl-key <file>', 'PEM private key; with --ssl-cert serves HTTPS/WSS').env('PEER_SIGNAL_SSL_KEY'))
    .addOption(new Option('--ssl-cert <file>', 'PEM certificate chain; with --ssl-key serves HTTPS/WSS').env('PEER_SIGNAL_SSL_CERT'))
    .addOption(
      new Option('--cors <origin...>', 'allowed CORS origins, space- or comma-separated (default: reflect any origin)')
        .env('PEER_SIGNAL_CORS')
        .argParser(collectOrigins),
    )
    .addOption(
      new Option('--proxied', 'trust X-Forwarded-For from a reverse proxy').env('PEER_SIGNAL_PROXIED').default(DEFAULTS.proxied),
    )
    .addOption(
      new Option('--log-level <level>', 'log verbosity').env('PEER_SIGNAL_LOG_LEVEL').default(DEFAULT_LOG_LEVEL).choices(LOG_LEVELS),
    )
    .addOption(
      new Option('--max-message-size <bytes>', 'largest frame accepted; a larger one closes that socket with 1009')
        .env('PEER_SIGNAL_MAX_MESSAGE_SIZE')
        .default(DEFAULTS.maxMessageSizeBytes)
        .argParser(parseBytesIn(1024, 100 * 1024 * 1024)),
    )
    .addOption(
      new Option('--rate-limit <msgs/s>', 'frames per second per socket, heartbeats included; 0 disables')
        .env('PEER_SIGNAL_RATE_LIMIT')
        .default(DEFAULTS.rateLimitPerSec)
        .argParser(parseIntegerIn(0, 1_000_000)),
    )
    .addOption(
      new Option('--rate-burst <n>', 'frames a socket may send at once above the rate')
        .env('PEER_SIGNAL_RATE_BURST')
        .default(DEFAULTS.rateBurst)
        .argParser(parseIntegerIn(1, 1_000_000)),
    )
    .addOption(
      new Option('--queue-limit <n>', 'most messages waiting for one absent peer')
        .env('PEER_SIGNAL_QUEUE_LIMIT')
        .default(DEFAULTS.queueLimit)
        .argParser(parseIntegerIn(0, 1_000_000)),
    )
    .addOption(
      new Option('--queue-bytes <bytes>', 'most bytes waiting for one absent peer')
        .env('PEER_SIGNAL_QUEUE_BYTES')
        .default(DEFAULTS.queueBytes)
        .argParser(parseBytesIn(0, 2 ** 40)),
    )
    .addOption(
      new Option('--queue-total-bytes <bytes>', 'most bytes waiting for all absent peers together')
        .env('PEER_SIGNAL_QUEUE_TOTAL_BYTES')
        .default(DEFAULTS.queueTotalBytes)
        .argParser(parseBytesIn(0, 2 ** 40)),
    )
    .addOption(
      new Option('--max-buffered <bytes>', 'disconnect a peer whose unsent data passes this (it is not reading)')
        .env('PEER_SIGNAL_MAX_BUFFERED')
        .default(DEFAULTS.maxBufferedBytes)
        .argParser(parseBytesIn(1024, 2 ** 40)),
    )
    .addOption(
      new Option('--max-connections-per-ip <n>', 'most WebSocket connections per client address; 0 is no limit')
        .env('PEER_SIGNAL_MAX_CONNECTIONS_PER_IP')
        .default(DEFAULTS.maxConnectionsPerIp)
        .argParser(parseIntegerIn(0, 10_000_000)),
    )
    .addOption(
      new Option('--handshake-timeout <ms>', 'time a client has to send complete request headers')
        .env('PEER_SIGNAL_HANDSHAKE_TIMEOUT')
        .default(DEFAULTS.handshakeTimeoutMs)
        .argParser(parseIntegerIn(100, 2 ** 31 - 1)),
    )
    .addOption(
      new Option('--allowed-origins <origin...>', 'WebSocket Origin allow-list, space- or comma-separated (default: any)')
        .env('PEER_SIGNAL_ALLOWED_ORIGINS')
        .argParser(collectOrigins),
    )
    .addOption(
      new Option('--admin-token <token>', 'require Authorization: Bearer <token> for the peer list (prefer the env var)').env(
        'PEER_SIGNAL_ADMIN_TOKEN',
      ),
    )
    .addOption(
      new Option('--token-secret <secret>', 'accept only ids with a token signed by this secret (prefer the env var)').env(
        'PEER_SIGNAL_TOKEN_SECRET',
      ),
    )
    .addOption(new Option('--redis <url>', 'cluster mode: share ids with other instances through this Redis (redis:// or rediss://)').env('REDIS_URL'))
    .addOption(
      new Option('--redis-prefix <prefix>', 'prefix of every Redis key and channel').env('PEER_SIGNAL_REDIS_PREFIX').default(DEFAULTS.redisPrefix),
    )
    .addOption(
      new Option('--redis-optional', 'start alone with a warning when Redis is unreachable at start')
        .env('PEER_SIGNAL_REDIS_OPTIONAL')
        .default(DEFAULTS.redisOptional),
    )
    .addOption(
      new Option('--cluster-lease <ms>', 'an instance that stops renewing its lease for this long is dead; its ids are free within about 4/3 of it')
        .env('PEER_SIGNAL_CLUSTER_LEASE')
        .default(DEFAULTS.clusterLeaseMs)
        .argParser(parseIntegerIn(300, 600_000)),
    )
    .addOption(new Option('--json', 'machine-readable output: a JSON listening line, then JSON log lines'))
    // The official `peerjs` CLI's spellings, so existing scripts keep working after renaming the command.
    .addOption(new Option('-t, --expire_timeout <ms>').hideHelp().argParser(parseMilliseconds))
    .addOption(new Option('--alive_timeout <ms>').hideHelp().argParser(parseMilliseconds))
    .addOption(new Option('-c, --concurrent_limit <n>').hideHelp().argParser(parseIntegerIn(1, 10_000_000)))
    .addOption(new Option('--allow_discovery').hideHelp())
    .addOption(new Option('--sslkey <file>').hideHelp())
    .addOption(new Option('--sslcert <file>').hideHelp());
}

/** commander sets a boolean option with .env() whenever the variable exists; we want ALLOW_DISCOVERY=false to mean off. */
function envBoolean(command: Command, option: string, envName: string, value: boolean): boolean {
  if (command.getOptionValueSource(option) !== 'env') return value;
  const parsed = parseBooleanWord(process.env[envName] ?? '');
  if (parsed === undefined) {
    throw usageError(`environment variable ${envName} must be one of true/false/1/0/yes/no/on/off, got "${process.env[envName]}"`);
  }
  return parsed;
}

/** Prefers the canonical flag; falls back to the official CLI's alias when only the alias was given on the command line. */
function preferCli<T>(command: Command, option: string, value: T, alias: T | undefined): T {
  return command.getOptionValueSource(option) !== 'cli' && alias !== undefined ? alias : value;
}

function readPem(flag: string, envName: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw usageError(`cannot read the ${flag} file "${file}" (${code}); check the path (${flag} or ${envName}) and its permissions`, {
      cause: error,
    });
  }
}

/** Maps parsed options (flags, env, defaults) onto a Config; exported for tests of precedence. */
export function configFromOptions(command: Command, options: ServeOptions): Partial<Config> {
  let path = options.path;
  if (command.getOptionValueSource('path') === 'default' && process.env.PEERSERVER_PATH) {
    path = process.env.PEERSERVER_PATH;
  }
  const sslKeyFile = preferCli(command, 'sslKey', options.sslKey, options.sslkey);
  const sslCertFile = preferCli(command, 'sslCert', options.sslCert, options.sslcert);
  if ((sslKeyFile === undefined) !== (sslCertFile === undefined)) {
    throw usageError('--ssl-key and --ssl-cert go together: give both to serve HTTPS/WSS, or neither');
  }
  // Checked here, not by commander, whose error message would quote the rejected secret.
  checkSecret('--admin-token', 'PEER_SIGNAL_ADMIN_TOKEN', options.adminToken);
  checkSecret('--token-secret', 'PEER_SIGNAL_TOKEN_SECRET', options.tokenSecret);
  return {
    port: options.port,
    host: options.host,
    path,
    key: options.key,
    allowDiscovery: envBoolean(command, 'allowDiscovery', 'ALLOW_DISCOVERY', options.allowDiscovery) || options.allow_discovery === true,
    expireTimeoutMs: preferCli(command, 'expireTimeout', options.expireTimeout, options.expire_timeout),
    aliveTimeoutMs: preferCli(command, 'aliveTimeout', options.aliveTimeout, options.alive_timeout),
    concurrentLimit: preferCli(command, 'concurrentLimit', options.concurrentLimit, options.concurrent_limit),
    sslKey: sslKeyFile === undefined ? undefined : readPem('--ssl-key', 'PEER_SIGNAL_SSL_KEY', sslKeyFile),
    sslCert: sslCertFile === undefined ? undefined : readPem('--ssl-cert', 'PEER_SIGNAL_SSL_CERT', sslCertFile),
    cors: options.cors ?? [],
    proxied: envBoolean(command, 'proxied', 'PEER_SIGNAL_PROXIED', options.proxied),
    maxMessageSizeBytes: options.maxMessageSize,
    rateLimitPerSec: options.rateLimit,
    rateBurst: options.rateBurst,
    queueLimit: options.queueLimit,
    queueBytes: options.queueBytes,
    queueTotalBytes: options.queueTotalBytes,
    maxBufferedBytes: options.maxBuffered,
    maxConnectionsPerIp: options.maxConnectionsPerIp,
    handshakeTimeoutMs: options.handshakeTimeout,
    allowedOrigins: options.allowedOrigins ?? [],
    adminToken: options.adminToken,
    tokenSecret: options.tokenSecret,
    redisUrl: options.redis,
    redisPrefix: options.redisPrefix,
    redisOptional: envBoolean(command, 'redisOptional', 'PEER_SIGNAL_REDIS_OPTIONAL', options.redisOptional),
    clusterLeaseMs: options.clusterLease,
  };
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
  const options = command.opts<ServeOptions>();
  if (command.args.length > 0) {
    const guess = closest(command.args[0]!, ['serve', 'health', 'peers', 'token', 'help']);
    throw usageError(
      `unknown command '${command.args[0]}'${guess ? ` (did you mean ${guess}?)` : ''}; run peer-signal --help to see the commands`,
    );
  }
  const output = createOutput({ color: options.color, json: options.json });
  let config: Readonly<Config>;
  try {
    config = resolveConfig(configFromOptions(command, options));
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
  const stopSizingYoungGeneration = manageYoungGeneration(() => server.framesHandled);
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
      stopSizingYoungGeneration();
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
  command.action(async (_options, self: Command) => runServe(self));
  return command;
}
