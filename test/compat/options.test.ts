// peer 1.0.2's options → Config: one row per option that maps, is ignored, or is refused with a PEER_SIGNAL_ERR_CONFIG naming it.
import { describe, expect, it } from 'vitest';
import { toCompatOptions } from '../../src/compat/options.js';
import { DEFAULTS, resolveConfig } from '../../src/config.js';
import { PeerSignalError } from '../../src/errors.js';

describe('peer options that map to a Config field', () => {
  it.each([
    ['path (default "/", as in peer)', {}, { path: '/' }],
    ['path', { path: '/myapp' }, { path: '/myapp' }],
    ['key', { key: 'secret' }, { key: 'secret' }],
    ['expire_timeout', { expire_timeout: 1500 }, { expireTimeoutMs: 1500 }],
    ['alive_timeout', { alive_timeout: 90_000 }, { aliveTimeoutMs: 90_000 }],
    ['concurrent_limit', { concurrent_limit: 10 }, { concurrentLimit: 10 }],
    ['allow_discovery', { allow_discovery: true }, { allowDiscovery: true }],
    ['proxied true', { proxied: true }, { proxied: true }],
    ['proxied "true" (any string but "false")', { proxied: 'true' }, { proxied: true }],
    ['proxied "loopback" (peer turns it into true)', { proxied: 'loopback' }, { proxied: true }],
    ['proxied "false"', { proxied: 'false' }, { proxied: false }],
    ['corsOptions.origin true', { corsOptions: { origin: true } }, { cors: [] }],
    ['corsOptions.origin "*"', { corsOptions: { origin: '*' } }, { cors: [] }],
    ['corsOptions.origin string', { corsOptions: { origin: 'https://app.example.com' } }, { cors: ['https://app.example.com'] }],
    ['corsOptions.origin list', { corsOptions: { origin: ['https://a.example', 'http://localhost:*'] } }, { cors: ['https://a.example', 'http://localhost:*'] }],
    ['host and port (PeerServer listens on them)', { host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0 }],
    ['a camelCase option of ours', { rateLimitPerSec: 5, tokenSecret: 'a-long-enough-secret' }, { rateLimitPerSec: 5, tokenSecret: 'a-long-enough-secret' }],
    ['the same value under both names', { expire_timeout: 700, expireTimeoutMs: 700 }, { expireTimeoutMs: 700 }],
  ])('%s', (_name, options, expected) => {
    const { config } = toCompatOptions(options);
    const resolved = resolveConfig(config);
    expect(resolved).toMatchObject(expected);
  });

  it('sets Express trust proxy the way peer 1.0.2 does, and leaves it alone when proxied is off', () => {
    expect(toCompatOptions({ proxied: true }).trustProxy).toBe(true);
    expect(toCompatOptions({ proxied: 'uniquelocal' }).trustProxy).toBe(true);
    expect(toCompatOptions({ proxied: 'false' }).trustProxy).toBe(false);
    expect(toCompatOptions({ proxied: false }).trustProxy).toBeUndefined();
    expect(toCompatOptions({}).trustProxy).toBeUndefined();
  });

  it('keeps generateClientId and ssl for the compat layer, and ignores debug and cleanup_out_msgs', () => {
    const generateClientId = (): string => 'x';
    const compat = toCompatOptions({ generateClientId, ssl: { key: 'k', cert: 'c' }, debug: true, cleanup_out_msgs: 10 });
    expect(compat.generateClientId).toBe(generateClientId);
    expect(compat.ssl).toEqual({ key: 'k', cert: 'c' });
    expect(compat.config).toEqual({ path: '/' });
    // peer passes an empty ssl object around as "no TLS".
    expect(toCompatOptions({ ssl: {} }).ssl).toBeUndefined();
  });

  it('uses our defaults for the rest (alive_timeout 60000 as in peer\'s README)', () => {
    const resolved = resolveConfig(toCompatOptions({}).config);
    expect(resolved).toMatchObject({ ...DEFAULTS, path: '/', cors: [], allowedOrigins: [] });
  });
});

describe('peer options that are refused', () => {
  it.each([
    ['createWebSocketServer', { createWebSocketServer: () => ({}) }, 'createWebSocketServer'],
    ['corsOptions.origin RegExp', { corsOptions: { origin: /example\.com$/ } }, 'corsOptions'],
    ['corsOptions.origin function', { corsOptions: { origin: (_o: string, cb: (e: null, ok: boolean) => void) => cb(null, true) } }, 'corsOptions'],
    ['corsOptions.origin false', { corsOptions: { origin: false } }, 'corsOptions'],
    ['a RegExp in a corsOptions.origin list', { corsOptions: { origin: ['https://a.example', /b/] } }, 'corsOptions'],
    ['another cors option', { corsOptions: { origin: true, credentials: true } }, 'corsOptions'],
    ['corsOptions and cors together', { corsOptions: { origin: true }, cors: ['https://a.example'] }, 'cors'],
    ['two values for one option', { expire_timeout: 700, expireTimeoutMs: 800 }, 'expireTimeoutMs'],
    ['generateClientId that is not a function', { generateClientId: 'abc' }, 'generateClientId'],
    ['a key our server cannot take', { key: 'has spaces' }, 'key'],
    ['an out-of-range value', { concurrent_limit: 0 }, 'concurrentLimit'],
  ])('%s', (_name, options, field) => {
    let thrown: unknown;
    try {
      toCompatOptions(options as Record<string, unknown>);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PeerSignalError);
    expect(thrown).toMatchObject({ code: 'PEER_SIGNAL_ERR_CONFIG', field });
  });

  it('names an unknown option and the known ones', () => {
    expect(() => toCompatOptions({ expireTimeout: 5 })).toThrow(/unknown option "expireTimeout".*expire_timeout/);
  });
});
