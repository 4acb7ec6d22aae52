// Limits and identity over real sockets: frame size, rate, queue caps, per-IP, Origin, tokens, admin token, secrets in logs.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { DESTINATION_OVERHEAD_BYTES, MESSAGE_OVERHEAD_BYTES } from '../../src/signaling/realm.js';
import { createPeerToken, verifyPeerToken } from '../../src/tokens.js';
import { closeAll, connectPeer, connectRaw, nextMany, socketUrl, type TestClient } from '../support/peer-client.js';

let server: SignalServer | undefined;
const clients: TestClient[] = [];
const logLines: string[] = [];

async function start(config: Partial<Config> = {}): Promise<SignalServer> {
  const logger = createLogger({ level: 'debug', json: true, write: (line) => logLines.push(line) });
  server = createSignalServer({ host: '127.0.0.1', port: 0, ...config }, { logger });
  await server.listen();
  return server;
}

async function peer(id: string, token?: string): Promise<TestClient> {
  const client = await connectPeer(server!, id, token);
  clients.push(client);
  return client;
}

function raw(query: Record<string, string | undefined>): TestClient {
  const client = connectRaw(socketUrl(server!, query));
  clients.push(client);
  return client;
}

/** A well-behaved pair must keep working whatever else happens. */
async function expectPairStillRelays(from: TestClient, to: TestClient, tag: string, toId = 'bob'): Promise<void> {
  from.send({ type: 'CANDIDATE', dst: toId, payload: { tag } });
  expect(await to.next()).toMatchObject({ type: 'CANDIDATE', payload: { tag } });
}

afterEach(async () => {
  await closeAll(clients.splice(0));
  await server?.close();
  server = undefined;
  logLines.length = 0;
});

describe('frame size', () => {
  it('closes a socket that sends a frame over maxMessageSizeBytes with 1009; others are unaffected', async () => {
    await start({ maxMessageSizeBytes: 4096 });
    const alice = await peer('alice');
    const bob = await peer('bob');
    const mallory = await peer('mallory');
    mallory.sendRaw(JSON.stringify({ type: 'OFFER', dst: 'bob', payload: 'x'.repeat(5000) }));
    expect(await mallory.closed).toBe(1009);
    await expectPairStillRelays(alice, bob, 'after-oversize');
    expect(bob.pending).toEqual([]);
  });

  it('accepts a frame just under the limit (a large SDP)', async () => {
    await start();
    const alice = await peer('alice');
    const bob = await peer('bob');
    const sdp = 'a=candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host\r\n'.repeat(900);
    alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp } });
    expect(await bob.next()).toMatchObject({ payload: { sdp } });
  });
});

describe('rate limit', () => {
  it('answers ERROR and closes with 1008 above the burst; a normal pair keeps relaying', async () => {
    await start({ rateLimitPerSec: 10, rateBurst: 20 });
    const alice = await peer('alice');
    const bob = await peer('bob');
    const flooder = await peer('flooder');
    for (let i = 0; i < 100; i++) flooder.send({ type: 'HEARTBEAT' });
    const error = await flooder.next();
    expect(error).toEqual({ type: 'ERROR', payload: { msg: expect.stringMatching(/^Rate limit exceeded/) } });
    expect(await flooder.closed).toBe(1008);
    await expectPairStillRelays(alice, bob, 'after-flood');
    expect(server!.peerCount).toBe(2);
  });

  it('is off with rateLimitPerSec 0', async () => {
    await start({ rateLimitPerSec: 0 });
    const alice = await peer('alice');
    const bob = await peer('bob');
    for (let i = 0; i < 1000; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: i });
    const frames = await nextMany(bob, 1000);
    expect(frames.at(-1)).toMatchObject({ payload: 999 });
  });
});

describe('queue caps', () => {
  it('refuses messages over queueLimit for one destination with EXPIRE at once', async () => {
    await start({ queueLimit: 3 });
    const alice = await peer('alice');
    for (let i = 0; i < 4; i++) alice.send({ type: 'CANDIDATE', dst: 'absent', payload: i });
    expect(await alice.next()).toEqual({ type: 'EXPIRE', src: 'absent', dst: 'alice' });
    const absent = raw({ key: 'peerjs', id: 'absent', token: 't' });
    const frames = await nextMany(absent, 4);
    expect(frames.map((frame) => frame.payload)).toEqual([undefined, 0, 1, 2]);
  });

  it('refuses messages over queueBytes per destination and queueTotalBytes overall', async () => {
    // Each message is charged its text (~950 characters) plus 256 bytes, and a new destination 256 more.
    await start({ queueBytes: 3000, queueTotalBytes: 5000, rateLimitPerSec: 0 });
    const alice = await peer('alice');
    const payload = 'p'.repeat(900);
    alice.send({ type: 'OFFER', dst: 'one', payload });
    alice.send({ type: 'OFFER', dst: 'one', payload });
    alice.send({ type: 'OFFER', dst: 'one', payload }); // over 3000 for "one"
    expect(await alice.next()).toEqual({ type: 'EXPIRE', src: 'one', dst: 'alice' });
    alice.send({ type: 'OFFER', dst: 'two', payload });
    alice.send({ type: 'OFFER', dst: 'three', payload }); // over 5000 in total
    expect(await alice.next()).toEqual({ type: 'EXPIRE', src: 'three', dst: 'alice' });
  });

  it('holds at most queueTotalBytes, counted truly, under a queue flood to many absent ids; the rest get EXPIRE at once', async () => {
    const cap = 256 * 1024;
    await start({ rateLimitPerSec: 0, rateBytesPerSec: 0, queueTotalBytes: cap, expireTimeoutMs: 60_000 });
    const alice = await peer('alice');
    const bob = await peer('bob');
    const flooder = await peer('flooder');
    const ghosts = 3000;
    const payload = 'x'.repeat(200);
    for (let i = 0; i < ghosts; i++) flooder.send({ type: 'OFFER', dst: `ghost${i}`, payload });
    // An id no client can hold gets EXPIRE at once, after the EXPIREs for the flood: then every one of them is here.
    flooder.send({ type: 'OFFER', dst: 'not/valid' });
    await expect.poll(() => flooder.pending.some((frame) => frame.src === 'not/valid'), { timeout: 10_000 }).toBe(true);
    const expired = new Set(flooder.pending.filter((frame) => frame.type === 'EXPIRE' && frame.src !== 'not/valid').map((frame) => frame.src));
    const kept = Array.from({ length: ghosts }, (_unused, i) => `ghost${i}`).filter((ghost) => !expired.has(ghost));
    // What the realm holds for each: the relayed text (src appended) plus the per-message and per-destination overheads.
    const charge = (ghost: string): number =>
      JSON.stringify({ type: 'OFFER', dst: ghost, payload, src: 'flooder' }).length + MESSAGE_OVERHEAD_BYTES + DESTINATION_OVERHEAD_BYTES;
    const held = kept.reduce((sum, ghost) => sum + charge(ghost), 0);
    expect(server!.queued()).toEqual({ messages: kept.length, bytes: held });
    expect(held).toBeLessThanOrEqual(cap);
    // The flood filled the cap: no room was left for one more.
    expect(held + charge('ghost9999')).toBeGreaterThan(cap);
    expect(expired.size).toBe(ghosts - kept.length);
    await expectPairStillRelays(alice, bob, 'after-queue-flood');
  });
});

describe('connections per IP and handshake timeout', () => {
  it('refuses the upgrade past maxConnectionsPerIp with 429, and admits again after one closes', async () => {
    await start({ maxConnectionsPerIp: 2 });
    const a = await peer('a');
    await peer('b');
    const ws = new WebSocket(socketUrl(server!, { key: 'peerjs', id: 'c', token: 't' }));
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(429);
    a.ws.close();
    await a.closed;
    // The slot frees once the server has seen the close: until then a probe is refused (429) and closes at once.
    await expect
      .poll(
        async () => {
          const probe = connectRaw(socketUrl(server!, { key: 'peerjs', id: 'c', token: 't' }));
          clients.push(probe);
          return (await Promise.race([probe.next(5000), probe.closed.then(() => ({ type: 'refused' }))])).type;
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe('OPEN');
  });

  it('counts X-Forwarded-For only when proxied', async () => {
    // Two trusted proxies: the second appended 10.0.0.1, the first the client's address.
    await start({ maxConnectionsPerIp: 1, proxied: true, proxyHops: 2 });
    const open = (ip: string): TestClient => {
      const ws = new WebSocket(socketUrl(server!, { key: 'peerjs', id: `p${ip.replace(/\./g, '')}`, token: 't' }), {
        headers: { 'x-forwarded-for': `${ip}, 10.0.0.1` },
      });
      const client = { ws, closed: new Promise<number>((resolve) => ws.on('close', resolve)) } as unknown as TestClient;
      clients.push(client);
      return client;
    };
    const first = open('203.0.113.1');
    const second = open('203.0.113.2');
    await Promise.all([new Promise((r) => first.ws.once('message', r)), new Promise((r) => second.ws.once('message', r))]);
    const third = open('203.0.113.1');
    third.ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => third.ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(429);
  });

  it('counts the address the proxy appended, not forged X-Forwarded-For entries to its left', async () => {
    await start({ maxConnectionsPerIp: 2, proxied: true });
    const statuses: number[] = [];
    for (let n = 1; n <= 6; n++) {
      // The client forges the left entry; the proxy (one trusted hop) appends the address it saw.
      const ws = new WebSocket(socketUrl(server!, { key: 'peerjs', id: `forged${n}`, token: 't' }), {
        headers: { 'x-forwarded-for': `203.0.113.${n}, 127.0.0.1` },
      });
      ws.on('error', () => {});
      clients.push({ ws, closed: new Promise<number>((resolve) => ws.on('close', resolve)) } as unknown as TestClient);
      statuses.push(
        await new Promise<number>((resolve) => {
          ws.once('upgrade', (res) => resolve(res.statusCode ?? 0));
          ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        }),
      );
    }
    expect(statuses).toEqual([101, 101, 429, 429, 429, 429]);
  });

  it('frees the socket of a refused upgrade even when the client never closes its side', async () => {
    await start();
    const socket = connect({ port: server!.address()!.port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => {});
    socket.resume();
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /elsewhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    await new Promise((resolve) => socket.once('end', resolve));
    // allowHalfOpen: this client keeps its side open. If the server only half-closed, it would keep
    // reading what we send; if it freed the socket, the kernel answers our next write with a reset.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await expect
      .poll(
        () => {
          if (!socket.destroyed) socket.write('still here');
          return socket.destroyed;
        },
        { timeout: 3000, interval: 50 },
      )
      .toBe(true);
    await closed;
  });

  it('drops a connection that opens TCP and sends nothing', async () => {
    await start({ handshakeTimeoutMs: 300 });
    const socket = connect(server!.address()!.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.resume();
    await new Promise((resolve) => socket.once('connect', resolve));
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('drops a connection that never completes its request headers', async () => {
    await start({ handshakeTimeoutMs: 300 });
    const socket = connect(server!.address()!.port, '127.0.0.1');
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /peerjs/peerjs?key=peerjs&id=a&token=t HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('Origin allow-list', () => {
  it('refuses WebSocket upgrades from other origins with 403 and accepts listed ones', async () => {
    await start({ allowedOrigins: ['https://app.example'] });
    const bad = new WebSocket(socketUrl(server!, { key: 'peerjs', id: 'a', token: 't' }), { origin: 'https://evil.example' });
    bad.on('error', () => {});
    const status = await new Promise<number>((resolve) => bad.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(403);
    const good = new WebSocket(socketUrl(server!, { key: 'peerjs', id: 'a', token: 't' }), { origin: 'https://app.example' });
    clients.push({ ws: good, closed: new Promise((resolve) => good.on('close', resolve)) } as unknown as TestClient);
    const first = await new Promise<string>((resolve) => good.once('message', (data) => resolve(String(data))));
    expect(JSON.parse(first)).toEqual({ type: 'OPEN' });
  });
});

describe('signed tokens', () => {
  const secret = 'a-long-random-server-secret';

  it('mints tokens that verify for their id only, until they expire', () => {
    const now = Date.UTC(2026, 0, 1);
    const token = createPeerToken('alice', secret, { ttlSeconds: 60, now });
    expect(token).toMatch(/^v1\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyPeerToken(token, 'alice', secret, now)).toBe('ok');
    expect(verifyPeerToken(token, 'bob', secret, now)).toBe('forged');
    expect(verifyPeerToken(token, 'alice', 'another-secret-of-length', now)).toBe('forged');
    expect(verifyPeerToken(token, 'alice', secret, now + 61_000)).toBe('expired');
    expect(verifyPeerToken('plain-token', 'alice', secret, now)).toBe('malformed');
    const [version, expiry, mac] = token.split('.');
    expect(verifyPeerToken(`${version}.${Number(expiry) + 1000}.${mac}`, 'alice', secret, now)).toBe('forged');
  });

  it.each([
    ['a plain token', () => 'random-client-token', /needs a signed token/],
    ['a token for another id', () => createPeerToken('bob', secret), /needs a signed token/],
    ['a token under another secret', () => createPeerToken('alice', 'some-other-secret-value'), /needs a signed token/],
    ['an expired token', () => createPeerToken('alice', secret, { ttlSeconds: 1, now: Date.now() - 10_000 }), /expired/],
  ])('refuses %s with ERROR and close', async (_name, makeToken, message) => {
    await start({ tokenSecret: secret });
    const client = raw({ key: 'peerjs', id: 'alice', token: makeToken() });
    const frame = await client.next();
    expect(frame.type).toBe('ERROR');
    expect((frame.payload as { msg: string }).msg).toMatch(/^Invalid token provided/);
    expect((frame.payload as { msg: string }).msg).toMatch(message);
    expect(await client.closed).toBe(1008);
  });

  it('admits a valid token; nobody can take the id over without the same token', async () => {
    await start({ tokenSecret: secret });
    const token = createPeerToken('alice', secret);
    const alice = await peer('alice', token);
    const thief = raw({ key: 'peerjs', id: 'alice', token: createPeerToken('alice', 'guessed-secret-value-xx') });
    expect((await thief.next()).type).toBe('ERROR');
    // The legitimate owner can reconnect with its token and takes over its own id.
    const again = await peer('alice', token);
    expect(await alice.closed).toBe(4000);
    expect(again.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('admin token for the peer list', () => {
  it('requires Authorization: Bearer when configured', async () => {
    await start({ allowDiscovery: true, adminToken: 'admin-token-0123456789' });
    const origin = `http://127.0.0.1:${server!.address()!.port}`;
    expect((await fetch(`${origin}/peerjs/peerjs/peers`)).status).toBe(401);
    expect((await fetch(`${origin}/peerjs/peerjs/peers`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(`${origin}/peerjs/peerjs/peers`, { headers: { authorization: 'Bearer admin-token-0123456789' } });
    expect(ok.status).toBe(200);
    // The public id endpoint does not need it.
    expect((await fetch(`${origin}/peerjs/peerjs/id`)).status).toBe(200);
  });
});

describe('secrets stay out of logs', () => {
  it('never logs keys, tokens, the token secret or the admin token', async () => {
    const key = 'public-key-42';
    const tokenSecret = 'token-secret-0123456789';
    const adminToken = 'admin-token-0123456789';
    await start({ key, tokenSecret, adminToken, allowDiscovery: true });
    const token = createPeerToken('alice', tokenSecret);
    await peer('alice', token);
    const wrongKey = raw({ key: 'wrong-key-guess', id: 'bob', token: 'plain-token-123' });
    await wrongKey.closed;
    const badToken = raw({ key, id: 'carol', token: 'forged-token-456' });
    await badToken.closed;
    await fetch(`http://127.0.0.1:${server!.address()!.port}/peerjs/${key}/peers`, { headers: { authorization: 'Bearer nope-nope-nope' } });
    await server!.close();
    const logs = logLines.join('');
    expect(logs).toContain('alice');
    for (const secretValue of [key, token, tokenSecret, adminToken, 'wrong-key-guess', 'plain-token-123', 'forged-token-456', 'nope-nope-nope']) {
      expect(logs).not.toContain(secretValue);
    }
  });
});
