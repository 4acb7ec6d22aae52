// resolveConfig: defaults, normalization, and errors that name the field, the value and the allowed range.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, normalizePath, resolveConfig } from '../src/config.js';

describe('resolveConfig', () => {
  it('returns the defaults, frozen', () => {
    const config = resolveConfig();
    expect(config).toEqual(DEFAULTS);
    expect(Object.isFrozen(config)).toBe(true);
    expect(DEFAULTS).toMatchObject({ port: 9000, host: '::', path: '/peerjs', key: 'peerjs', allowDiscovery: false });
    expect(DEFAULTS).toMatchObject({ expireTimeoutMs: 5000, aliveTimeoutMs: 60000, concurrentLimit: 5000 });
  });

  it('ignores undefined fields so callers can pass optional values through', () => {
    expect(resolveConfig({ port: undefined }).port).toBe(9000);
  });

  it.each([
    ['peerjs', '/peerjs'],
    ['/peerjs/', '/peerjs'],
    ['//a//b/', '/a/b'],
    ['', '/'],
    ['/', '/'],
  ])('normalizes path %j to %j', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
    expect(resolveConfig({ path: input }).path).toBe(expected);
  });

  it.each([
    [{ port: -1 }, /port must be an integer from 0 to 65535, got -1/],
    [{ port: 70000 }, /port/],
    [{ port: 1.5 }, /port/],
    [{ expireTimeoutMs: 0 }, /expireTimeoutMs/],
    [{ aliveTimeoutMs: Number.NaN }, /aliveTimeoutMs/],
    [{ concurrentLimit: 0 }, /concurrentLimit/],
    [{ key: '' }, /key must be/],
    [{ key: 'with space' }, /key must be/],
    [{ host: '' }, /host/],
    [{ path: '/a?b' }, /path/],
    [{ sslKey: 'k' }, /sslKey and sslCert go together/],
    [{ cors: 'x' as unknown as string[] }, /cors/],
    [{ nonsense: 1 } as never, /unknown option "nonsense"/],
    [{ cors: ['https://app*.example.com'] }, /cors: "https:\/\/app\*\.example\.com" has a \* that can never match/],
    [{ allowedOrigins: ['https://*'] }, /allowedOrigins: .*https:\/\/\*\.example\.com/],
  ])('rejects %j', (partial, message) => {
    expect(() => resolveConfig(partial)).toThrowError(message);
    try {
      resolveConfig(partial);
    } catch (error) {
      expect((error as { code: string }).code).toBe('PEER_SIGNAL_ERR_CONFIG');
    }
  });

  it.each([
    [{ port: -1 }, 'port'],
    [{ host: '' }, 'host'],
    [{ path: '/a b' }, 'path'],
    [{ key: '' }, 'key'],
    [{ redisUrl: 'http://x' }, 'redisUrl'],
    [{ rateBytesBurst: 2048 }, 'rateBytesBurst'],
    [{ allowedOrigins: ['https://a*.b'] }, 'allowedOrigins'],
    [{ nonsense: 1 } as never, undefined],
  ])('names the field of %j in the error (for the CLI to name its flag), and in the message (for library users)', (partial, field) => {
    let caught: { code?: string; field?: string; message?: string } = {};
    try {
      resolveConfig(partial);
    } catch (error) {
      caught = error as typeof caught;
    }
    expect(caught.code).toBe('PEER_SIGNAL_ERR_CONFIG');
    expect(caught.field).toBe(field);
    if (field !== undefined) expect(caught.message!.startsWith(field)).toBe(true);
  });

  it('accepts origin wildcards it can match', () => {
    const config = resolveConfig({ cors: ['*'], allowedOrigins: ['https://*.example.com', 'http://localhost:*'] });
    expect(config.allowedOrigins).toEqual(['https://*.example.com', 'http://localhost:*']);
  });
});
