// TURN credentials (username `<expiry>:<id>`, HMAC-SHA1 password), the iceServers list, ICE URL checks and the ICE config fields.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { createTurnCredentials, listIceServers } from '../../src/ice/credentials.js';
import { iceUrlProblem, parseIceUrl } from '../../src/ice/urls.js';
import { opensslProblem, requires } from '../support/prerequisites.js';

const SECRET = 'north-by-northwest-0123456789';
/** 2026-01-01T00:00:00Z */
const NOW = Date.UTC(2026, 0, 1);

/** The password as coturn's docs compute it, by a program that shares no code with ours. */
function opensslCredential(secret: string, username: string): string {
  const result = spawnSync('sh', ['-c', 'printf %s "$1" | openssl dgst -sha1 -hmac "$2" -binary | base64', 'sh', username, secret], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  return result.stdout.trim();
}
const withOpenssl = requires('the openssl cross-check', opensslProblem());

describe('createTurnCredentials', () => {
  it('names the expiry (unix seconds) and the id, and signs that name with HMAC-SHA1 in base64', () => {
    const { username, credential, expiresAt } = createTurnCredentials(SECRET, 'alice', 3600, NOW + 999);
    expect(expiresAt).toBe(NOW / 1000 + 3600);
    expect(username).toBe(`${NOW / 1000 + 3600}:alice`);
    expect(credential).toMatch(/^[A-Za-z0-9+/]{27}=$/);
  });

  withOpenssl.it('computes the same password as openssl dgst -sha1 -hmac | base64', () => {
    for (const id of ['alice', 'a b-c_d', '00000000-0000-4000-8000-000000000000']) {
      const { username, credential } = createTurnCredentials(SECRET, id, 60, NOW);
      expect(credential).toBe(opensslCredential(SECRET, username));
    }
  });

  it('gives another password for another secret, id or expiry', () => {
    const base = createTurnCredentials(SECRET, 'alice', 3600, NOW).credential;
    expect(createTurnCredentials(`${SECRET}x`, 'alice', 3600, NOW).credential).not.toBe(base);
    expect(createTurnCredentials(SECRET, 'alicf', 3600, NOW).credential).not.toBe(base);
    expect(createTurnCredentials(SECRET, 'alice', 3601, NOW).credential).not.toBe(base);
  });
});

describe('listIceServers', () => {
  it('lists the STUN URLs first, then the TURN URLs with credentials for the id', () => {
    const config = resolveConfig({
      stunUrls: ['stun:stun.example.com:3478'],
      turnUrls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:443?transport=tcp'],
      turnSecret: SECRET,
      turnTtlSeconds: 600,
    });
    const { username, credential } = createTurnCredentials(SECRET, 'bob', 600, NOW);
    expect(listIceServers(config, 'bob', NOW)).toEqual([
      { urls: ['stun:stun.example.com:3478'] },
      { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:443?transport=tcp'], username, credential },
    ]);
  });

  it('lists only STUN without a TURN secret, and nothing without URLs', () => {
    expect(listIceServers(resolveConfig({ stunUrls: ['stun:127.0.0.1'] }), 'bob', NOW)).toEqual([{ urls: ['stun:127.0.0.1'] }]);
    expect(listIceServers(resolveConfig({}), 'bob', NOW)).toEqual([]);
  });
});

describe('ICE URLs', () => {
  it.each([
    ['stun', 'stun:stun.l.google.com:19302'],
    ['stun', 'stuns:stun.example.com'],
    ['stun', 'stun:[2001:db8::1]:3478'],
    ['turn', 'turn:turn.example.com'],
    ['turn', 'turn:10.0.0.1:3478?transport=udp'],
    ['turn', 'turns:turn.example.com:443?transport=tcp'],
    ['turn', 'turn:[::1]:3478?transport=tcp'],
  ] as const)('accepts a %s URL %s', (kind, url) => {
    expect(iceUrlProblem(kind, url)).toBeUndefined();
  });

  it.each([
    ['turn', 'turn://turn.example.com:3478', /without "\/\/"/],
    ['turn', 'stun:stun.example.com', /does not start with turn: or turns:/],
    ['stun', 'turn:turn.example.com', /does not start with stun: or stuns:/],
    ['stun', 'http://example.com', /without "\/\/"/],
    ['turn', 'turn:turn.example.com:70000', /port 1-65535/],
    ['turn', 'turn:turn.example.com?transport=sctp', /transport udp or tcp/],
    ['stun', 'stun:stun.example.com?transport=udp', /stun:host\[:port\]/],
    ['turn', 'turn:', /is not a TURN URL/],
    ['turn', 'turn:a b', /is not a TURN URL/],
  ] as const)('refuses a %s URL %s, saying how to write one', (kind, url, message) => {
    expect(iceUrlProblem(kind, url)).toMatch(message);
  });

  it('reads a URL apart, with the default ports', () => {
    expect(parseIceUrl('turn:[::1]?transport=tcp')).toEqual({ scheme: 'turn', host: '::1', port: 3478, transport: 'tcp' });
    expect(parseIceUrl('turns:turn.example.com')).toEqual({ scheme: 'turns', host: 'turn.example.com', port: 5349, transport: undefined });
  });
});

describe('resolveConfig: the ICE fields', () => {
  const turn = { turnSecret: SECRET, turnUrls: ['turn:turn.example.com:3478'] };

  it('defaults to no ICE servers and a 1 h ttl', () => {
    expect(resolveConfig({})).toMatchObject({ turnSecret: undefined, turnUrls: undefined, stunUrls: undefined, turnTtlSeconds: 3600 });
  });

  it('freezes the URL lists, and takes an empty list for none', () => {
    const config = resolveConfig({ ...turn, stunUrls: ['stun:stun.example.com'] });
    expect(Object.isFrozen(config.turnUrls)).toBe(true);
    expect(Object.isFrozen(config.stunUrls)).toBe(true);
    expect(resolveConfig({ stunUrls: [], turnUrls: [] })).toMatchObject({ stunUrls: undefined, turnUrls: undefined });
  });

  it.each([
    [{ turnSecret: SECRET }, 'turnSecret', /turnSecret needs turnUrls too: add the URLs of the TURN server/],
    [{ turnSecret: SECRET, turnUrls: [] }, 'turnSecret', /turnSecret needs turnUrls too/],
    [{ turnUrls: ['turn:turn.example.com'] }, 'turnUrls', /turnUrls needs turnSecret too/],
    [{ ...turn, turnSecret: 'short' }, 'turnSecret', /at least 16 characters/],
    [{ ...turn, turnUrls: ['turn://x'] }, 'turnUrls', /without "\/\/"/],
    [{ stunUrls: 'stun:x' as unknown as string[] }, 'stunUrls', /array of STUN URL strings/],
    [{ ...turn, turnTtlSeconds: 59 }, 'turnTtlSeconds', /from 60 to 604800/],
    [{ ...turn, turnTtlSeconds: 1.5 }, 'turnTtlSeconds', /integer/],
  ])('refuses %j, naming %s', (partial, field, message) => {
    let error: unknown;
    try {
      resolveConfig(partial);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'PEER_SIGNAL_ERR_CONFIG', field, message: expect.stringMatching(message) });
  });
});
