// GET {prefix}/{key}/ice-servers: the STUN URLs and short-lived TURN credentials for a peer, rate-limited per client address.
import type { Config } from '../config.js';
import { isValidId } from '../signaling/protocol.js';
import { verifyPeerToken } from '../tokens.js';
import { listIceServers, randomTurnId } from './credentials.js';

/** What routes.ts sends: a status, a JSON body and any extra headers. */
export interface IceAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface IceRateLimit {
  /** Requests each address may make at once. */
  burst: number;
  /** Requests per second each address regains, up to `burst`. */
  perSecond: number;
  /** Most addresses tracked at once; past it the least recently seen is forgotten (it starts afresh). */
  maxAddresses: number;
}

/** 20 requests at once, then one a second, per client address: a page asks once per peer (and again before the ttl runs out). */
export const ICE_RATE_LIMIT: Readonly<IceRateLimit> = Object.freeze({ burst: 20, perSecond: 1, maxAddresses: 10_000 });

/**
 * A token bucket per address in one Map, oldest first: a request moves its address to the end, so when
 * the Map is full the first entry is the least recently seen. Returns 0 when the request may go on,
 * else the whole seconds until it may.
 */
export function createAddressBuckets({ burst, perSecond, maxAddresses }: IceRateLimit): (address: string, now: number) => number {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (address, now) => {
    const bucket = buckets.get(address);
    let tokens = burst;
    if (bucket !== undefined) {
      buckets.delete(address);
      tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * perSecond);
    } else if (buckets.size >= maxAddresses) {
      buckets.delete(buckets.keys().next().value!);
    }
    const allowed = tokens >= 1;
    buckets.set(address, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / perSecond));
  };
}

const TOKEN_PROBLEMS = {
  malformed: 'is not a peer-signal token (v1.<expiry>.<signature>, as createPeerToken or peer-signal token mint it)',
  forged: "was not signed for this id with this server's --token-secret",
  expired: 'has expired; fetch a new one from your backend',
} as const;

/** With --token-secret: why the request may not have credentials for its id, or undefined when it may. */
function tokenRefusal(secret: string, id: string | null, token: string | null, now: number): string | undefined {
  if (id === null || id === '') {
    return "this server needs the peer's signed token for ICE servers; pass ?id=ID&token=TOKEN, the id and token the peer connects with";
  }
  if (!isValidId(id)) return `${JSON.stringify(id)} is not a valid peer id, so no token can be valid for it; pass the id the peer connects with`;
  if (token === null || token === '') return `no token for ${JSON.stringify(id)}; add &token=TOKEN, the signed token the peer connects with`;
  const check = verifyPeerToken(token, id, secret, now);
  return check === 'ok' ? undefined : `the token for ${JSON.stringify(id)} ${TOKEN_PROBLEMS[check]}`;
}

/** Builds the route's answer for a request from `address` with `query` (`id`, `token`); the key was checked before. */
export function createIceServersRoute(config: Readonly<Config>): (address: string, query: URLSearchParams) => IceAnswer {
  const take = createAddressBuckets(ICE_RATE_LIMIT);
  const configured = config.stunUrls !== undefined || config.turnSecret !== undefined;
  return (address, query) => {
    if (!configured) {
      return {
        status: 404,
        body: { error: 'this server hands out no ICE servers; start it with --stun-urls, or with --turn-secret and --turn-urls' },
      };
    }
    const time = Date.now();
    const wait = take(address, time);
    if (wait > 0) {
      return {
        status: 429,
        body: { error: `too many ICE server requests from this address; retry after ${wait} s` },
        headers: { 'Retry-After': String(wait), 'Access-Control-Expose-Headers': 'Retry-After' },
      };
    }
    const id = query.get('id');
    if (config.tokenSecret !== undefined) {
      const refusal = tokenRefusal(config.tokenSecret, id, query.get('token'), time);
      if (refusal !== undefined) return { status: 401, body: { error: refusal } };
    }
    const holder = id !== null && isValidId(id) ? id : randomTurnId();
    return { status: 200, body: { iceServers: listIceServers(config, holder, time), ttl: config.turnTtlSeconds } };
  };
}
