// Short-lived TURN credentials (the "TURN REST API" scheme coturn checks with use-auth-secret) and the iceServers list built from them.
import { createHmac, randomUUID } from 'node:crypto';
import type { Config } from '../config.js';

/** One entry of RTCConfiguration.iceServers. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface TurnCredentials {
  /** `<expiry, unix seconds>:<id>`: coturn reads the expiry from before the first `:` and refuses the name after it. */
  username: string;
  /** base64(HMAC-SHA1(secret, username)), the password coturn computes from its static-auth-secret. */
  credential: string;
  /** The expiry, in unix seconds. */
  expiresAt: number;
}

/**
 * Credentials for `id` valid for `ttlSeconds` from `now` (ms): anyone holding them may allocate relays on
 * a TURN server started with `use-auth-secret` and `static-auth-secret=<secret>` until they expire.
 */
export function createTurnCredentials(secret: string, id: string, ttlSeconds: number, now: number = Date.now()): TurnCredentials {
  const expiresAt = Math.floor(now / 1000) + ttlSeconds;
  const username = `${expiresAt}:${id}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64'), expiresAt };
}

/** A fresh id for a request that names none, so two anonymous holders never share a username. */
export function randomTurnId(): string {
  return randomUUID();
}

/** The STUN entry, then the TURN entry with credentials for `id` (when a TURN secret is configured). */
export function listIceServers(
  config: Pick<Readonly<Config>, 'stunUrls' | 'turnUrls' | 'turnSecret' | 'turnTtlSeconds'>,
  id: string,
  now: number = Date.now(),
): IceServer[] {
  const servers: IceServer[] = [];
  if (config.stunUrls !== undefined) servers.push({ urls: [...config.stunUrls] });
  if (config.turnSecret !== undefined && config.turnUrls !== undefined) {
    const { username, credential } = createTurnCredentials(config.turnSecret, id, config.turnTtlSeconds, now);
    servers.push({ urls: [...config.turnUrls], username, credential });
  }
  return servers;
}
