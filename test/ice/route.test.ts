// GET {prefix}/{key}/ice-servers over a real server: shape, credentials, ttl, ids, STUN only, 404, tokens, rate limit, CORS, keys.
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { createAddressBuckets, ICE_RATE_LIMIT } from '../../src/ice/route.js';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import { createPeerToken } from '../../src/tokens.js';

const TURN_SECRET = 'turn-secret-for-route-tests-0123';
const TOKEN_SECRET = 'token-secret-for-route-tests-0123';
const TURN = { turnSecret: TURN_SECRET, turnUrls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:443?transport=tcp'] };
const STUN = { stunUrls: ['stun:stun.example.com:3478'] };

interface IceBody {
  iceServers: Array<{ urls: string[]; username?: string; credential?: string }>;
  ttl: number;
}

let server: SignalServer | undefined;

async function start(config: Partial<Config> = {}): Promise<string> {
  server = createSignalServer({ host: '127.0.0.1', port: 0, ...config });
  await server.listen();
  return `http://127.0.0.1:${server.address()!.port}`;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The TURN entry of a 200 answer. */
function turnEntry(body: IceBody): { urls: string[]; username: string; credential: string } {
  const entry = body.iceServers.find((server) => server.username !== undefined);
  if (entry === undefined) throw new Error(`no TURN entry in ${JSON.stringify(body)}`);
  return entry as { urls: string[]; username: string; credential: string };
}

describe('GET {prefix}/{key}/ice-servers with STUN and TURN', () => {
  it('answers {iceServers, ttl}: the STUN entry, then the TURN URLs with `<expiry>:<id>` and base64(HMAC-SHA1(secret, username))', async () => {
    const origin = await start({ ...TURN, ...STUN, turnTtlSeconds: 900 });
    const before = Math.floor(Date.now() / 1000);
    const response = await fetch(`${origin}/peerjs/peerjs/ice-servers?id=alice`);
    const after = Math.floor(Date.now() / 1000);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as IceBody;
    expect(Object.keys(body).sort()).toEqual(['iceServers', 'ttl']);
    expect(body.ttl).toBe(900);
    expect(body.iceServers[0]).toEqual({ urls: STUN.stunUrls });
    const turn = turnEntry(body);
    expect(turn.urls).toEqual(TURN.turnUrls);
    const [expiry, id] = turn.username.split(':');
    expect(id).toBe('alice');
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + 900);
    expect(Number(expiry)).toBeLessThanOrEqual(after + 900);
    // Computed here from the secret, independently of src/ice/credentials.ts.
    expect(turn.credential).toBe(createHmac('sha1', TURN_SECRET).update(turn.username).digest('base64'));
  });

  it('answers HEAD without a body', async () => {
    const origin = await start({ ...TURN });
    const response = await fetch(`${origin}/peerjs/peerjs/ice-servers`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it.each([
    ['no id', ''],
    ['an empty id', '?id='],
    ['an id peerjs would refuse', '?id=-bad-'],
    ['an id over 64 characters', `?id=${'a'.repeat(65)}`],
  ])('gives %s a random id, a fresh one each time', async (_what, query) => {
    const origin = await start({ ...TURN });
    const ids = [];
    for (let i = 0; i < 2; i++) {
      const body = (await (await fetch(`${origin}/peerjs/peerjs/ice-servers${query}`)).json()) as IceBody;
      ids.push(turnEntry(body).username.slice(turnEntry(body).username.indexOf(':') + 1));
    }
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[1]).not.toBe(ids[0]);
  });

  it('keeps an id with spaces, dashes and underscores, as peerjs allows them', async () => {
    const origin = await start({ ...TURN });
    const body = (await (await fetch(`${origin}/peerjs/peerjs/ice-servers?id=${encodeURIComponent('a b-c_d')}`)).json()) as IceBody;
    expect(turnEntry(body).username).toMatch(/^\d+:a b-c_d$/);
  });

  it('serves the route under any --path', async () => {
    for (const path of ['/', '/signal/v1']) {
      const origin = await start({ ...TURN, path, key: 'sekret' });
      const prefix = path === '/' ? '' : path;
      expect((await fetch(`${origin}${prefix}/sekret/ice-servers`)).status).toBe(200);
      await server!.close();
    }
  });
});

describe('without TURN', () => {
  it('lists only the STUN URLs without --turn-secret', async () => {
    const origin = await start({ stunUrls: ['stun:a.example.com', 'stuns:b.example.com:5349'] });
    const body = (await (await fetch(`${origin}/peerjs/peerjs/ice-servers?id=alice`)).json()) as IceBody;
    expect(body.iceServers).toEqual([{ urls: ['stun:a.example.com', 'stuns:b.example.com:5349'] }]);
  });

  it('answers 404 with what to configure when there are no ICE servers', async () => {
    const origin = await start();
    const response = await fetch(`${origin}/peerjs/peerjs/ice-servers`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: 'this server hands out no ICE servers; start it with --stun-urls, or with --turn-secret and --turn-urls',
    });
  });
});

describe('keys', () => {
  it.each([
    ['a wrong key', '/peerjs/wrong/ice-servers', 'invalid key; use the key the server was started with (--key)'],
    ['an empty key', '/peerjs//ice-servers', undefined],
  ])('refuses %s', async (_what, path, error) => {
    const origin = await start({ ...TURN, key: 'right' });
    const response = await fetch(origin + path);
    if (error === undefined) {
      // An empty path segment is no route at all.
      expect(response.status).toBe(404);
    } else {
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error });
    }
  });

  it('takes a key with characters that need escaping in the path', async () => {
    const origin = await start({ ...TURN, key: 'a~b.c' });
    expect((await fetch(`${origin}/peerjs/${encodeURIComponent('a~b.c')}/ice-servers`)).status).toBe(200);
  });
});

describe('with --token-secret', () => {
  const config = { ...TURN, tokenSecret: TOKEN_SECRET };

  it("hands credentials for the id to the holder of that id's token", async () => {
    const origin = await start(config);
    const token = createPeerToken('alice', TOKEN_SECRET);
    const response = await fetch(`${origin}/peerjs/peerjs/ice-servers?id=alice&token=${encodeURIComponent(token)}`);
    expect(response.status).toBe(200);
    expect(turnEntry((await response.json()) as IceBody).username).toMatch(/^\d+:alice$/);
  });

  it.each([
    ['no id', () => '', /needs the peer's signed token for ICE servers; pass \?id=ID&token=TOKEN/],
    ['an invalid id', () => '?id=-x-&token=t', /"-x-" is not a valid peer id/],
    ['no token', () => '?id=alice', /no token for "alice"; add &token=TOKEN/],
    ["another id's token", () => `?id=alice&token=${createPeerToken('bob', TOKEN_SECRET)}`, /token for "alice" was not signed for this id/],
    ['a token under another secret', () => `?id=alice&token=${createPeerToken('alice', `${TOKEN_SECRET}x`)}`, /was not signed for this id/],
    ['an expired token', () => `?id=alice&token=${createPeerToken('alice', TOKEN_SECRET, { now: Date.now() - 7200_000 })}`, /has expired/],
    ['a malformed token', () => '?id=alice&token=hello', /is not a peer-signal token/],
  ])('answers 401 to %s, saying what is missing', async (_what, query, message) => {
    const origin = await start(config);
    const response = await fetch(`${origin}/peerjs/peerjs/ice-servers${query()}`);
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: string };
    expect(body.error).toMatch(message);
    expect(JSON.stringify(body)).not.toContain('credential');
  });

  it('asks for the token for STUN-only servers too', async () => {
    const origin = await start({ ...STUN, tokenSecret: TOKEN_SECRET });
    expect((await fetch(`${origin}/peerjs/peerjs/ice-servers`)).status).toBe(401);
  });
});

describe('rate limit', () => {
  /**
   * Requests until the first 429 (at most twice the burst), returning it and how many passed before: at least
   * the burst, plus one for each second the loop took on a busy machine (the bucket refills meanwhile).
   */
  async function exhaust(request: () => Promise<Response>): Promise<{ passed: number; refused: Response | undefined }> {
    let passed = 0;
    for (let i = 0; i < 2 * ICE_RATE_LIMIT.burst; i++) {
      const response = await request();
      if (response.status === 429) return { passed, refused: response };
      expect(response.status).toBe(200);
      passed++;
    }
    return { passed, refused: undefined };
  }

  it(`answers 429 with Retry-After after ${ICE_RATE_LIMIT.burst} requests at once from one address`, async () => {
    const origin = await start({ ...TURN });
    const { passed, refused } = await exhaust(() =>
      fetch(`${origin}/peerjs/peerjs/ice-servers`, { headers: { origin: 'https://app.example.com' } }),
    );
    expect(passed).toBeGreaterThanOrEqual(ICE_RATE_LIMIT.burst);
    expect(refused?.status).toBe(429);
    expect(refused!.headers.get('retry-after')).toBe('1');
    // A page can read Retry-After only when CORS exposes it.
    expect(refused!.headers.get('access-control-expose-headers')).toBe('Retry-After');
    expect(await refused!.json()).toEqual({ error: 'too many ICE server requests from this address; retry after 1 s' });
    // The other routes are not limited by it.
    expect((await fetch(`${origin}/peerjs/peerjs/id`)).status).toBe(200);
  });

  it('counts each client address apart behind a trusted proxy (--proxied)', async () => {
    const origin = await start({ ...TURN, proxied: true });
    const from = (address: string): Promise<Response> => fetch(`${origin}/peerjs/peerjs/ice-servers`, { headers: { 'x-forwarded-for': address } });
    expect((await exhaust(() => from('203.0.113.1'))).refused?.status).toBe(429);
    expect((await from('203.0.113.2')).status).toBe(200);
  });

  it('does not count requests to a server without ICE servers (they get 404)', async () => {
    const origin = await start();
    for (let i = 0; i <= ICE_RATE_LIMIT.burst; i++) expect((await fetch(`${origin}/peerjs/peerjs/ice-servers`)).status).toBe(404);
  });
});

describe('createAddressBuckets', () => {
  it('lets a burst through, then one request per 1/perSecond, and says how long to wait', () => {
    const take = createAddressBuckets({ burst: 3, perSecond: 0.5, maxAddresses: 10 });
    expect([take('a', 0), take('a', 0), take('a', 0)]).toEqual([0, 0, 0]);
    expect(take('a', 0)).toBe(2);
    expect(take('a', 1000)).toBe(1);
    expect(take('a', 2000)).toBe(0);
    expect(take('b', 2000)).toBe(0);
  });

  it('refills no further than the burst', () => {
    const take = createAddressBuckets({ burst: 2, perSecond: 1, maxAddresses: 10 });
    take('a', 0);
    expect([take('a', 60_000), take('a', 60_000), take('a', 60_000)]).toEqual([0, 0, 1]);
  });

  it('tracks at most maxAddresses, forgetting the least recently seen', () => {
    const take = createAddressBuckets({ burst: 1, perSecond: 0.001, maxAddresses: 2 });
    expect([take('a', 0), take('b', 0)]).toEqual([0, 0]);
    expect(take('a', 0)).toBeGreaterThan(0); // a is now the most recently seen
    expect(take('c', 0)).toBe(0); // evicts b
    expect(take('a', 0)).toBeGreaterThan(0); // a is still tracked
    expect(take('b', 0)).toBe(0); // b was forgotten, so it starts afresh (evicting c)
  });
});

describe('CORS', () => {
  it('reflects an allowed Origin and answers the preflight', async () => {
    const origin = await start({ ...TURN, cors: ['https://app.example.com'] });
    const allowed = await fetch(`${origin}/peerjs/peerjs/ice-servers`, { headers: { origin: 'https://app.example.com' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const preflight = await fetch(`${origin}/peerjs/peerjs/ice-servers`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, HEAD, OPTIONS');
  });

  it('sets no CORS header for an origin --cors does not list', async () => {
    const origin = await start({ ...TURN, cors: ['https://app.example.com'] });
    const refused = await fetch(`${origin}/peerjs/peerjs/ice-servers`, { headers: { origin: 'https://evil.example.net' } });
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers other methods with 405', async () => {
    const origin = await start({ ...TURN });
    const response = await fetch(`${origin}/peerjs/peerjs/ice-servers`, { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });
});
