// Signed peer tokens: an HMAC-SHA256 of the id and an expiry under a secret only the app's backend and the server know.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** `v1.<expiry, unix seconds>.<base64url HMAC-SHA256(secret, "v1.<id>.<expiry>")>` */
const TOKEN_PATTERN = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

function signature(secret: string, id: string, expiresAt: number): Buffer {
  return createHmac('sha256', secret).update(`v1.${id}.${expiresAt}`).digest();
}

export interface PeerTokenOptions {
  /** Lifetime in seconds. Default 3600. */
  ttlSeconds?: number;
  /** Current time in ms (for tests). Default Date.now(). */
  now?: number;
}

/**
 * Mints a token that lets `id` connect to a server started with `--token-secret secret`.
 * Call it in your app's backend and hand the token to the browser: `new Peer(id, { token, ... })`.
 */
export function createPeerToken(id: string, secret: string, options: PeerTokenOptions = {}): string {
  const ttlSeconds = options.ttlSeconds ?? 3600;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new TypeError('ttlSeconds must be a positive whole number');
  const expiresAt = Math.floor((options.now ?? Date.now()) / 1000) + ttlSeconds;
  return `v1.${expiresAt}.${signature(secret, id, expiresAt).toString('base64url')}`;
}

export type TokenCheck = 'ok' | 'malformed' | 'expired' | 'forged';

/**
 * Checks a token for `id` in constant time; the reason is for logs and the ERROR frame, never the token itself.
 * Only the spelling createPeerToken writes is accepted: no leading zeros in the expiry, and none of the other
 * last characters of the signature that decode to the same bytes (its low 2 bits are unused), so a token
 * cannot be varied to look new. Those checks read only the token, so they tell nothing about the secret.
 */
export function verifyPeerToken(token: string, id: string, secret: string, now: number = Date.now()): TokenCheck {
  const match = TOKEN_PATTERN.exec(token);
  if (match === null) return 'malformed';
  const expiresAt = Number(match[1]);
  if (match[1] !== String(expiresAt)) return 'malformed';
  const given = Buffer.from(match[2]!, 'base64url');
  if (given.toString('base64url') !== match[2]) return 'malformed';
  const expected = signature(secret, id, expiresAt);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'forged';
  if (expiresAt * 1000 <= now) return 'expired';
  return 'ok';
}
