// Config type, the one DEFAULTS object, and resolveConfig(): the only way a config is made.
import { PeerSignalError } from './errors.js';
import { wildcardProblem } from './http/origins.js';
import { iceUrlProblem, type IceUrlKind } from './ice/urls.js';
import { checkFaultSpec, type FaultSpec } from './signaling/faults.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
/** The CLI's log level; the library itself logs nothing unless given a logger. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/** Everything the server needs to run. Every field has a default in {@link DEFAULTS}. */
export interface Config {
  /** TCP port; 0 picks a free one. Default 9000. */
  port: number;
  /** Address to bind. Default `::` (all interfaces, falling back to `0.0.0.0` without IPv6). */
  host: string;
  /** URL prefix of every route, normalized to start with `/` and have no trailing `/`
   * (except the root itself, `/`). Default `/peerjs`. */
  path: string;
  /** The PeerJS API key clients must present. Default `peerjs`. */
  key: string;
  /** Whether `GET {path}/{key}/peers` lists connected ids. Default false. */
  allowDiscovery: boolean;
  /** How long a message for an absent peer waits before the sender gets EXPIRE, in ms. Default 5000. */
  expireTimeoutMs: number;
  /** A peer silent (no frame, no pong) for this long is disconnected, in ms. Default 60000. */
  aliveTimeoutMs: number;
  /** Most peers connected at once to this instance. Default 5000. */
  concurrentLimit: number;
  /** PEM private key for HTTPS/WSS (contents, not a path). Needs `sslCert` too. */
  sslKey: string | undefined;
  /** PEM certificate chain for HTTPS/WSS (contents, not a path). Needs `sslKey` too. */
  sslCert: string | undefined;
  /** Allowed CORS origins; an empty list (or one holding "*") reflects any origin. Default []. */
  cors: readonly string[];
  /** Trust `X-Forwarded-For` from a reverse proxy. Default false. */
  proxied: boolean;
  /**
   * With `proxied`, how many trusted proxies append to `X-Forwarded-For`: the client address is the
   * entry this many places from the right (entries further left are whatever the client sent). Default 1.
   */
  proxyHops: number;
  /** How long close() waits for sockets to finish their closing handshake, in ms. Default 5000. */
  closeTimeoutMs: number;
  /** Largest WebSocket frame accepted, in bytes; a larger one closes the socket with 1009 before it is buffered. Default 65536. */
  maxMessageSizeBytes: number;
  /** Frames per second each socket may send on average, heartbeats included; 0 disables the limit. Default 50. */
  rateLimitPerSec: number;
  /** Frames a socket may send in a burst above the rate. Default 200. */
  rateBurst: number;
  /** Bytes per second each socket may send on average (frame payloads); 0 disables the byte limit. Default 262144 (256 KiB). */
  rateBytesPerSec: number;
  /** Bytes a socket may send in a burst above the byte rate; at least maxMessageSizeBytes. Default 1048576 (1 MiB). */
  rateBytesBurst: number;
  /** Most messages waiting for one absent peer. Default 256. */
  queueLimit: number;
  /** Most bytes waiting for one absent peer. Default 1 MiB. */
  queueBytes: number;
  /** Most bytes waiting for all absent peers together. Default 64 MiB. */
  queueTotalBytes: number;
  /**
   * A destination with more unsent bytes than this takes no more messages until it has read some: the
   * sender gets EXPIRE for it instead (the cost of congestion falls on the sender). Default 4 MiB.
   */
  maxBufferedBytes: number;
  /** A peer with unsent data that reads none of it for this long is disconnected (it has stopped reading), in ms. Default 5000. */
  stallTimeoutMs: number;
  /** Most WebSocket connections from one IP address; 0 is no limit. Default 0 (behind a proxy all clients share one address). */
  maxConnectionsPerIp: number;
  /** Time a client has to send complete HTTP/upgrade request headers, in ms. Default 10000. */
  handshakeTimeoutMs: number;
  /** WebSocket `Origin` values allowed to connect; empty allows any. Default []. */
  allowedOrigins: readonly string[];
  /** When set, `GET .../peers` also needs `Authorization: Bearer <adminToken>`. Default none. */
  adminToken: string | undefined;
  /** When set, a peer's token must be an HMAC of its id and an expiry under this secret (see tokens.ts). Default none. */
  tokenSecret: string | undefined;
  /** Serve Prometheus metrics at `GET /metrics` and `{path}/metrics` (behind `adminToken` when set). Default false. */
  metrics: boolean;
  /**
   * coturn's `static-auth-secret`: `GET {path}/{key}/ice-servers` hands out TURN credentials signed with it
   * (HMAC-SHA1, valid for turnTtlSeconds). Needs turnUrls. Default none.
   */
  turnSecret: string | undefined;
  /** TURN URLs listed with the credentials: `turn:host[:port][?transport=udp|tcp]` or `turns:...`; an empty list is none. Default none. */
  turnUrls: readonly string[] | undefined;
  /** STUN URLs listed by `GET {path}/{key}/ice-servers`: `stun:host[:port]` or `stuns:...`; an empty list is none. Default none. */
  stunUrls: readonly string[] | undefined;
  /** How long the TURN credentials handed out stay valid, in seconds. Default 3600. */
  turnTtlSeconds: number;
  /**
   * Cluster mode: `redis://[:password@]host:port[/db]` or `rediss://`; with `redisCluster`, a
   * comma-separated list of Redis Cluster seed nodes. Default none (a single instance).
   */
  redisUrl: string | undefined;
  /** `redisUrl` names Redis Cluster nodes (sharded pub/sub, Redis 7 or later), not one Redis. Default false. */
  redisCluster: boolean;
  /** Prefix of every Redis key and channel, so several clusters can share one Redis. Default `peer-signal:`. */
  redisPrefix: string;
  /** Start alone with a warning when Redis is unreachable at start, instead of failing. Default false. */
  redisOptional: boolean;
  /** A cluster instance that stops renewing its lease for this long is dead and its ids are freed, in ms. Default 10000. */
  clusterLeaseMs: number;
  /**
   * Fault injection in force from the start (for testing applications): drop or delay relayed
   * messages by type, e.g. `{ drop: { CANDIDATE: 0.5 }, delayMs: { OFFER: 200 }, seed: 1 }`. Default none.
   */
  faults: FaultSpec | undefined;
}

/** The only place defaults live. */
export const DEFAULTS: Readonly<Config> = Object.freeze({
  port: 9000,
  host: '::',
  path: '/peerjs',
  key: 'peerjs',
  allowDiscovery: false,
  expireTimeoutMs: 5000,
  aliveTimeoutMs: 60000,
  concurrentLimit: 5000,
  sslKey: undefined,
  sslCert: undefined,
  cors: Object.freeze([]) as readonly string[],
  proxied: false,
  proxyHops: 1,
  closeTimeoutMs: 5000,
  maxMessageSizeBytes: 65536,
  rateLimitPerSec: 50,
  rateBurst: 200,
  rateBytesPerSec: 256 * 1024,
  rateBytesBurst: 1024 * 1024,
  queueLimit: 256,
  queueBytes: 1024 * 1024,
  queueTotalBytes: 64 * 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  stallTimeoutMs: 5000,
  maxConnectionsPerIp: 0,
  handshakeTimeoutMs: 10000,
  allowedOrigins: Object.freeze([]) as readonly string[],
  adminToken: undefined,
  tokenSecret: undefined,
  metrics: false,
  turnSecret: undefined,
  turnUrls: undefined,
  stunUrls: undefined,
  turnTtlSeconds: 3600,
  redisUrl: undefined,
  redisCluster: false,
  redisPrefix: 'peer-signal:',
  redisOptional: false,
  clusterLeaseMs: 10000,
  faults: undefined,
});

/** Largest value a Node timer accepts (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The allowed range of every integer field, inclusive: resolveConfig checks them, and the CLI's parsers take their bounds from here. */
export const RANGES = {
  port: { min: 0, max: 65535 },
  proxyHops: { min: 1, max: 32 },
  expireTimeoutMs: { min: 1, max: MAX_TIMER_MS },
  aliveTimeoutMs: { min: 1, max: MAX_TIMER_MS },
  concurrentLimit: { min: 1, max: 10_000_000 },
  closeTimeoutMs: { min: 0, max: MAX_TIMER_MS },
  maxMessageSizeBytes: { min: 1024, max: 100 * 1024 * 1024 },
  rateLimitPerSec: { min: 0, max: 1_000_000 },
  rateBurst: { min: 1, max: 1_000_000 },
  rateBytesPerSec: { min: 0, max: 2 ** 40 },
  rateBytesBurst: { min: 1024, max: 2 ** 40 },
  queueLimit: { min: 0, max: 1_000_000 },
  queueBytes: { min: 0, max: 2 ** 40 },
  queueTotalBytes: { min: 0, max: 2 ** 40 },
  maxBufferedBytes: { min: 1024, max: 2 ** 40 },
  stallTimeoutMs: { min: 100, max: 600_000 },
  maxConnectionsPerIp: { min: 0, max: 10_000_000 },
  handshakeTimeoutMs: { min: 100, max: MAX_TIMER_MS },
  clusterLeaseMs: { min: 300, max: 600_000 },
  turnTtlSeconds: { min: 60, max: 7 * 86400 },
} as const satisfies Partial<Record<keyof Config, { min: number; max: number }>>;

/** A Config field that is an integer with a range in {@link RANGES}. */
export type RangedField = keyof typeof RANGES;

/**
 * Every message starts with the field it is about (`port must be ...`), so the error's `field` is read
 * from there: the CLI names the flag or variable the value came from instead.
 */
function configError(message: string): PeerSignalError {
  const first = /^[A-Za-z]+/.exec(message)?.[0];
  const field = first !== undefined && Object.hasOwn(DEFAULTS, first) ? first : undefined;
  return new PeerSignalError('PEER_SIGNAL_ERR_CONFIG', message, { field });
}

function checkInteger(name: RangedField, value: unknown): number {
  const { min, max } = RANGES[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw configError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw configError(`${name} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

/** A frozen list of origins without trailing slashes, as browsers send them in `Origin`. */
function checkOrigins(name: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.some((origin) => typeof origin !== 'string')) {
    throw configError(`${name} must be an array of origin strings such as "https://app.example.com"`);
  }
  for (const origin of value as string[]) {
    const problem = wildcardProblem(origin);
    if (problem !== undefined) throw configError(`${name}: ${problem}`);
  }
  return Object.freeze((value as string[]).map((origin) => origin.replace(/\/+$/, '')));
}

/** A frozen list of STUN or TURN URLs, each checked (see ice/urls.ts); undefined for none (an empty list too). */
function checkIceUrls(name: string, kind: IceUrlKind, value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((url) => typeof url !== 'string')) {
    throw configError(`${name} must be an array of ${kind.toUpperCase()} URL strings such as "${kind === 'stun' ? 'stun:stun.example.com:3478' : 'turn:turn.example.com:3478'}"`);
  }
  for (const url of value as string[]) {
    const problem = iceUrlProblem(kind, url);
    if (problem !== undefined) throw configError(`${name}: ${problem}`);
  }
  return value.length === 0 ? undefined : Object.freeze([...(value as string[])]);
}

/** Turns `peerjs`, `/peerjs/`, `//a//b/` into `/peerjs`, `/peerjs`, `/a/b`; `''` and `/` into `/`. */
export function normalizePath(path: string): string {
  const parts = path.split('/').filter((part) => part.length > 0);
  return '/' + parts.join('/');
}

/**
 * Merges `partial` over {@link DEFAULTS}, checks every field and returns a frozen Config.
 * Throws a PeerSignalError with code `PEER_SIGNAL_ERR_CONFIG` naming the field, the value and what is allowed.
 */
export function resolveConfig(partial: Partial<Config> = {}): Readonly<Config> {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined));
  const merged: Config = { ...DEFAULTS, ...defined };
  const known = new Set(Object.keys(DEFAULTS));
  for (const name of Object.keys(partial)) {
    if (!known.has(name)) throw configError(`unknown option "${name}"; known options are ${[...known].join(', ')}`);
  }

  checkInteger('port', merged.port);
  checkString('host', merged.host);
  if (merged.host.length === 0) throw configError('host must not be empty; use "::" for all interfaces');
  merged.path = normalizePath(checkString('path', merged.path));
  if (/[?#\s%]/.test(merged.path)) {
    throw configError(`path must be a plain URL path without "?", "#", "%" or spaces, got ${JSON.stringify(merged.path)}`);
  }
  checkString('key', merged.key);
  if (!/^[A-Za-z0-9._~-]{1,128}$/.test(merged.key)) {
    throw configError('key must be 1-128 characters from A-Z a-z 0-9 . _ ~ -');
  }
  if (typeof merged.allowDiscovery !== 'boolean') throw configError('allowDiscovery must be a boolean');
  if (typeof merged.proxied !== 'boolean') throw configError('proxied must be a boolean');
  checkInteger('proxyHops', merged.proxyHops);
  checkInteger('expireTimeoutMs', merged.expireTimeoutMs);
  checkInteger('aliveTimeoutMs', merged.aliveTimeoutMs);
  checkInteger('concurrentLimit', merged.concurrentLimit);
  checkInteger('closeTimeoutMs', merged.closeTimeoutMs);
  if ((merged.sslKey === undefined) !== (merged.sslCert === undefined)) {
    throw configError('sslKey and sslCert go together: give both to serve HTTPS/WSS, or neither');
  }
  if (merged.sslKey !== undefined) checkString('sslKey', merged.sslKey);
  if (merged.sslCert !== undefined) checkString('sslCert', merged.sslCert);
  merged.cors = checkOrigins('cors', merged.cors);
  merged.allowedOrigins = checkOrigins('allowedOrigins', merged.allowedOrigins);
  checkInteger('maxMessageSizeBytes', merged.maxMessageSizeBytes);
  checkInteger('rateLimitPerSec', merged.rateLimitPerSec);
  checkInteger('rateBurst', merged.rateBurst);
  checkInteger('rateBytesPerSec', merged.rateBytesPerSec);
  checkInteger('rateBytesBurst', merged.rateBytesBurst);
  if (merged.rateBytesPerSec > 0 && merged.rateBytesBurst < merged.maxMessageSizeBytes) {
    throw configError(
      `rateBytesBurst (${merged.rateBytesBurst}) is smaller than maxMessageSizeBytes (${merged.maxMessageSizeBytes}), so a frame of the largest allowed size could never pass; raise rateBytesBurst or lower maxMessageSizeBytes`,
    );
  }
  checkInteger('queueLimit', merged.queueLimit);
  checkInteger('queueBytes', merged.queueBytes);
  checkInteger('queueTotalBytes', merged.queueTotalBytes);
  checkInteger('maxBufferedBytes', merged.maxBufferedBytes);
  checkInteger('stallTimeoutMs', merged.stallTimeoutMs);
  checkInteger('maxConnectionsPerIp', merged.maxConnectionsPerIp);
  checkInteger('handshakeTimeoutMs', merged.handshakeTimeoutMs);
  for (const name of ['adminToken', 'tokenSecret', 'turnSecret'] as const) {
    const value = merged[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length < 16) {
      throw configError(`${name} must be a string of at least 16 characters (use a long random value)`);
    }
  }
  if (typeof merged.metrics !== 'boolean') throw configError('metrics must be a boolean');
  merged.turnUrls = checkIceUrls('turnUrls', 'turn', merged.turnUrls);
  merged.stunUrls = checkIceUrls('stunUrls', 'stun', merged.stunUrls);
  checkInteger('turnTtlSeconds', merged.turnTtlSeconds);
  if (merged.turnSecret !== undefined && merged.turnUrls === undefined) {
    throw configError(
      'turnSecret needs turnUrls too: add the URLs of the TURN server that shares the secret, such as turn:turn.example.com:3478?transport=udp',
    );
  }
  if (merged.turnSecret === undefined && merged.turnUrls !== undefined) {
    throw configError(
      "turnUrls needs turnSecret too: a TURN server relays only for peers with credentials, which are signed with coturn's static-auth-secret; pass that secret",
    );
  }
  if (typeof merged.redisCluster !== 'boolean') throw configError('redisCluster must be a boolean');
  if (merged.redisUrl !== undefined) {
    const urls = checkString('redisUrl', merged.redisUrl).split(',').map((url) => url.trim());
    const protocols = urls.map((url) => {
      try {
        return new URL(url).protocol;
      } catch {
        return '';
      }
    });
    if (protocols.some((protocol) => protocol !== 'redis:' && protocol !== 'rediss:')) {
      throw configError('redisUrl must look like redis://[:password@]host:port[/db] or rediss://... for TLS');
    }
    if (urls.length > 1 && !merged.redisCluster) {
      throw configError(
        `redisUrl lists ${urls.length} URLs: set redisCluster when they are Redis Cluster nodes, or give one URL`,
      );
    }
    if (new Set(protocols).size > 1) throw configError('redisUrl mixes redis:// and rediss://; Redis Cluster nodes share one protocol');
  }
  // Keys use hash tags ({id}) so that each script runs in one Redis Cluster slot; a brace in the prefix would move the tag.
  if (typeof merged.redisPrefix !== 'string' || !/^[\x21-\x7a|~]{0,64}$/.test(merged.redisPrefix)) {
    throw configError('redisPrefix must be up to 64 printable characters without spaces or braces');
  }
  if (typeof merged.redisOptional !== 'boolean') throw configError('redisOptional must be a boolean');
  checkInteger('clusterLeaseMs', merged.clusterLeaseMs);
  if (merged.faults !== undefined) {
    try {
      merged.faults = Object.freeze(checkFaultSpec(merged.faults));
    } catch (error) {
      throw configError(`faults: ${(error as Error).message}`);
    }
  }
  return Object.freeze(merged);
}
