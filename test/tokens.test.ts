// Signed peer tokens: mint and verify, expiry, forgery, and exactly one accepted spelling per token.
import { describe, expect, it } from 'vitest';
import { createPeerToken, verifyPeerToken } from '../src/tokens.js';

const SECRET = 'a-long-random-server-secret';
const NOW = Date.UTC(2026, 0, 1);
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function mint(id = 'alice', ttlSeconds = 60): { token: string; expiry: string; mac: string } {
  const token = createPeerToken(id, SECRET, { ttlSeconds, now: NOW });
  const [, expiry, mac] = token.split('.') as [string, string, string];
  return { token, expiry, mac };
}

describe('createPeerToken and verifyPeerToken', () => {
  it('round-trips: a minted token verifies for its id until it expires', () => {
    const { token } = mint();
    expect(token).toMatch(/^v1\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyPeerToken(token, 'alice', SECRET, NOW)).toBe('ok');
    expect(verifyPeerToken(token, 'alice', SECRET, NOW + 59_999)).toBe('ok');
  });

  it('reports an expired token as expired', () => {
    expect(verifyPeerToken(mint().token, 'alice', SECRET, NOW + 60_000)).toBe('expired');
  });

  it('refuses a token for another id, or under another secret, as forged', () => {
    const { token } = mint();
    expect(verifyPeerToken(token, 'bob', SECRET, NOW)).toBe('forged');
    expect(verifyPeerToken(token, 'alice', 'another-secret-of-length', NOW)).toBe('forged');
  });

  it('refuses a changed expiry or signature as forged', () => {
    const { expiry, mac } = mint();
    expect(verifyPeerToken(`v1.${Number(expiry) + 1000}.${mac}`, 'alice', SECRET, NOW)).toBe('forged');
    const flipped = mac[0] === 'A' ? `B${mac.slice(1)}` : `A${mac.slice(1)}`;
    expect(verifyPeerToken(`v1.${expiry}.${flipped}`, 'alice', SECRET, NOW)).toBe('forged');
  });

  it.each(['plain-token', 'v2.1.x', 'v1..', `v1.1.${'A'.repeat(42)}`, `v1.1.${'A'.repeat(43)}=`])('refuses %s as malformed', (token) => {
    expect(verifyPeerToken(token, 'alice', SECRET, NOW)).toBe('malformed');
  });
});

describe('one spelling per token', () => {
  it('refuses an expiry written with a leading zero', () => {
    const { expiry, mac } = mint();
    expect(verifyPeerToken(`v1.0${expiry}.${mac}`, 'alice', SECRET, NOW)).toBe('malformed');
    expect(verifyPeerToken(`v1.000${expiry}.${mac}`, 'alice', SECRET, NOW)).toBe('malformed');
  });

  // 43 base64url characters carry 258 bits for a 256-bit HMAC: the last character's low 2 bits are
  // unused, so three other characters there decode to the same bytes.
  it.each([1, 2, 3])('refuses a signature whose last character differs only in its unused bits (xor %i)', (bits) => {
    const { expiry, mac } = mint();
    const last = BASE64URL.indexOf(mac.at(-1)!);
    const variant = `${mac.slice(0, -1)}${BASE64URL[last ^ bits]}`;
    expect(Buffer.from(variant, 'base64url')).toEqual(Buffer.from(mac, 'base64url'));
    expect(verifyPeerToken(`v1.${expiry}.${variant}`, 'alice', SECRET, NOW)).toBe('malformed');
  });
});
