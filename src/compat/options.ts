// `peer` 1.0.2's snake_case options (and our camelCase ones) turned into a Config: what maps, what is ignored, what is refused.
import { DEFAULTS, resolveConfig, type Config } from '../config.js';
import { PeerSignalError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SignalingObserver } from '../signaling/observer.js';
import type { CorsOptions, IConfig } from './types.js';

/** `peer`'s name → ours, for the options that only change their name. */
const RENAMED = {
  expire_timeout: 'expireTimeoutMs',
  alive_timeout: 'aliveTimeoutMs',
  concurrent_limit: 'concurrentLimit',
  allow_discovery: 'allowDiscovery',
} as const satisfies Partial<Record<keyof IConfig, keyof Config>>;

/** `peer` options with nothing to do here: `debug` is gone from `peer` too, and queued messages expire on their own timers. */
const IGNORED = new Set(['debug', 'cleanup_out_msgs']);
/** Handled below rather than passed to resolveConfig. */
const PEER_ONLY = new Set(['ssl', 'corsOptions', 'generateClientId', 'createWebSocketServer', 'logger', 'observer']);

export interface CompatOptions {
  /** Ready for resolveConfig: `peer`'s defaults (path `/`) under the given options. */
  readonly config: Partial<Config>;
  readonly generateClientId: (() => string) | undefined;
  /** Express's `trust proxy` for the sub-app, set as `peer` sets it; undefined leaves Express's default. */
  readonly trustProxy: boolean | undefined;
  /** https.createServer options (PeerServer only). */
  readonly ssl: Record<string, unknown> | undefined;
  readonly logger: Logger | undefined;
  readonly observer: SignalingObserver | undefined;
}

function refuse(message: string, field?: string): PeerSignalError {
  return new PeerSignalError('PEER_SIGNAL_ERR_CONFIG', message, { field });
}

/** `peer` passes corsOptions to the `cors` package; its `origin` becomes our `cors` list where a list can say the same. */
function corsOrigins(options: CorsOptions): readonly string[] {
  const others = Object.keys(options).filter((name) => name !== 'origin');
  if (others.length > 0) {
    throw refuse(
      `corsOptions.${others[0]} is not supported: peer-signal answers CORS itself and honours corsOptions.origin only; remove ${others.map((name) => `corsOptions.${name}`).join(', ')}`,
      'corsOptions',
    );
  }
  const origin = options.origin;
  const asList =
    'give the allowed origins as strings, e.g. corsOptions: { origin: ["https://app.example.com", "http://localhost:*"] } (wildcards: *, https://*.example.com, a * port)';
  if (origin === undefined || origin === true || origin === '*') return [];
  if (origin === false) {
    throw refuse(`corsOptions.origin false (no CORS headers) is not supported; ${asList}, listing only your own origin`, 'corsOptions');
  }
  const entries = Array.isArray(origin) ? origin : [origin];
  for (const entry of entries) {
    if (typeof entry !== 'string') {
      const what = entry instanceof RegExp ? `a RegExp (${String(entry)})` : typeof entry === 'function' ? 'a function' : JSON.stringify(entry);
      throw refuse(`corsOptions.origin ${what} is not supported; ${asList}`, 'corsOptions');
    }
  }
  return entries as string[];
}

/**
 * Splits `peer`-style options (snake_case, plus our camelCase names) into a Config and the extras the
 * compat layer handles itself. Throws PEER_SIGNAL_ERR_CONFIG for an option it cannot honour, naming it.
 */
export function toCompatOptions(options: Record<string, unknown>): CompatOptions {
  const config: Record<string, unknown> = { path: '/' };
  const known = new Set<string>([...Object.keys(DEFAULTS), ...Object.keys(RENAMED), ...IGNORED, ...PEER_ONLY, 'proxied']);
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || IGNORED.has(name) || PEER_ONLY.has(name)) continue;
    if (!known.has(name)) {
      throw refuse(
        `unknown option "${name}"; peer's options are ${[...Object.keys(RENAMED), 'path', 'key', 'port', 'host', 'proxied', ...PEER_ONLY].join(', ')}, and peer-signal's camelCase ones (see the Config type) work too`,
      );
    }
    const ours = (RENAMED as Record<string, string>)[name];
    if (ours !== undefined) {
      if (options[ours] !== undefined && options[ours] !== value) {
        throw refuse(`${name} and ${ours} are the same option with two values (${JSON.stringify(value)}, ${JSON.stringify(options[ours])}); pass one`, ours);
      }
      config[ours] = value;
    } else {
      config[name] = value;
    }
  }

  // peer 1.0.2: `app.set("trust proxy", proxied === "false" ? false : !!proxied)`, and only when proxied is truthy.
  let trustProxy: boolean | undefined;
  const proxied = options.proxied;
  if (typeof proxied === 'string') {
    trustProxy = proxied === '' ? undefined : proxied !== 'false';
    config.proxied = trustProxy === true;
  } else if (proxied === true) {
    trustProxy = true;
  }

  if (options.createWebSocketServer !== undefined) {
    throw refuse(
      "createWebSocketServer is not supported: peer-signal's transport owns the WebSocket server (limits, backpressure, heartbeats) and takes only the upgrades to its own path, " +
        'so other WebSocket servers on the same HTTP server (socket.io, ws, Vite) keep working without it; remove the option',
      'createWebSocketServer',
    );
  }
  const corsOptions = options.corsOptions;
  if (corsOptions !== undefined) {
    if (options.cors !== undefined) throw refuse('corsOptions and cors are the same option; pass one', 'cors');
    if (corsOptions === null || typeof corsOptions !== 'object') throw refuse('corsOptions must be an object such as { origin: true }', 'corsOptions');
    config.cors = corsOrigins(corsOptions as CorsOptions);
  }
  const generateClientId = options.generateClientId;
  if (generateClientId !== undefined && typeof generateClientId !== 'function') {
    throw refuse('generateClientId must be a function that returns a new id', 'generateClientId');
  }
  const ssl = options.ssl;
  if (ssl !== undefined && (ssl === null || typeof ssl !== 'object')) throw refuse('ssl must be an object such as { key, cert }', 'ssl');

  // Checked now, so that a bad option throws where it was passed rather than at mount or listen time.
  resolveConfig(config as Partial<Config>);
  return {
    config: config as Partial<Config>,
    generateClientId: generateClientId as (() => string) | undefined,
    trustProxy,
    ssl: ssl !== undefined && Object.keys(ssl).length > 0 ? (ssl as Record<string, unknown>) : undefined,
    logger: options.logger as Logger | undefined,
    observer: options.observer as SignalingObserver | undefined,
  };
}
