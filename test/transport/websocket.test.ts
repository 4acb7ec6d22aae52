// The PeerJS WebSocket protocol over real sockets: admission, relay, queues, expiry, liveness, shutdown.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import { resolveConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { createMemoryBackend } from '../../src/cluster/memory.js';
import { WebSocketTransport } from '../../src/transport/websocket.js';
import { within } from '../support/deadline.js';
import { closeAll, connectPeer, connectRaw, nextMany, socketUrl, type TestClient } from '../support/peer-client.js';
import { clientFrame, rawWebSocket, type RawWebSocket } from '../support/ws-frames.js';

let server: SignalServer | undefined;
const clients: TestClient[] = [];

async function start(config: Partial<Config> = {}): Promise<SignalServer> {
  server = createSignalServer({ host: '127.0.0.1', port: 0, ...config });
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

/** Raw sockets opened by a test, destroyed after it. */
const rawSockets: RawWebSocket[] = [];
function opened(socket: RawWebSocket): RawWebSocket {
  rawSockets.push(socket);
  return socket;
}

afterEach(async () => {
  for (const { socket } of rawSockets.splice(0)) socket.destroy();
  await closeAll(clients.splice(0));
  await server?.close();
  server = undefined;
});

describe('admission', () => {
  const refusals: Array<[string, Record<string, string | undefined>, unknown]> = [
    ['missing id', { key: 'peerjs', token: 't' }, { type: 'ERROR', payload: { msg: 'No id, token, or key supplied to websocket server' } }],
    ['missing token', { key: 'peerjs', id: 'a' }, { type: 'ERROR', payload: { msg: 'No id, token, or key supplied to websocket server' } }],
    ['missing key', { id: 'a', token: 't' }, { type: 'ERROR', payload: { msg: 'No id, token, or key supplied to websocket server' } }],
    ['empty id', { key: 'peerjs', id: '', token: 't' }, { type: 'ERROR', payload: { msg: 'No id, token, or key supplied to websocket server' } }],
    ['wrong key', { key: 'nope', id: 'a', token: 't' }, { type: 'ERROR', payload: { msg: 'Invalid key provided' } }],
    ['id with a slash', { key: 'peerjs', id: 'a/b', token: 't' }, { type: 'ERROR', payload: { msg: expect.stringMatching(/^Invalid id provided/) } }],
    ['id with a trailing dash', { key: 'peerjs', id: 'a-', token: 't' }, { type: 'ERROR', payload: { msg: expect.stringMatching(/^Invalid id provided/) } }],
    ['id of 65 characters', { key: 'peerjs', id: 'a'.repeat(65), token: 't' }, { type: 'ERROR', payload: { msg: expect.stringMatching(/^Invalid id provided/) } }],
    ['token of 257 characters', { key: 'peerjs', id: 'a', token: 't'.repeat(257) }, { type: 'ERROR', payload: { msg: expect.stringMatching(/^Invalid token provided/) } }],
  ];

  it.each(refusals)('%s: answers ERROR and closes', async (_name, query, expected) => {
    await start();
    const client = raw(query);
    expect(await client.next()).toEqual(expected);
    expect(await client.closed).toBe(1008);
    expect(server!.peerCount).toBe(0);
  });

  it('accepts the longest and most punctuated valid ids', async () => {
    await start();
    for (const id of ['a'.repeat(64), 'a b-c_d', '0']) {
      const client = raw({ key: 'peerjs', id, token: 't', version: '1.5.5' });
      expect(await client.next()).toEqual({ type: 'OPEN' });
    }
    expect(server!.peerCount).toBe(3);
  });

  it('a second socket with the same id and another token gets ID-TAKEN; the first keeps working', async () => {
    await start();
    const first = await peer('alice', 'one');
    const intruder = raw({ key: 'peerjs', id: 'alice', token: 'two' });
    expect(await intruder.next()).toEqual({ type: 'ID-TAKEN', payload: { msg: 'ID is taken' } });
    expect(await intruder.closed).toBe(1008);
    const bob = await peer('bob');
    bob.send({ type: 'OFFER', dst: 'alice', payload: { sdp: 'x' } });
    expect(await first.next()).toEqual({ type: 'OFFER', dst: 'alice', src: 'bob', payload: { sdp: 'x' } });
  });

  it('the same id and token replaces the old socket, which is closed, and the new one gets OPEN', async () => {
    await start();
    const old = await peer('alice', 'secret');
    const fresh = await peer('alice', 'secret');
    expect(await old.closed).toBe(4000);
    expect(server!.peerCount).toBe(1);
    const bob = await peer('bob');
    bob.send({ type: 'CANDIDATE', dst: 'alice', payload: { candidate: 'c' } });
    expect(await fresh.next()).toMatchObject({ type: 'CANDIDATE', src: 'bob' });
  });

  it('refuses peers over the concurrent limit, and admits again once one leaves', async () => {
    await start({ concurrentLimit: 2 });
    const a = await peer('a');
    await peer('b');
    const third = raw({ key: 'peerjs', id: 'c', token: 't' });
    expect(await third.next()).toEqual({ type: 'ERROR', payload: { msg: 'Server has reached its concurrent user limit' } });
    expect(await third.closed).toBe(1008);
    a.ws.close();
    await a.closed;
    await expect.poll(() => server!.peerCount, { timeout: 5000 }).toBe(1);
    await peer('c');
  });

  it('a reconnect with the same id and token is not counted twice against the limit', async () => {
    await start({ concurrentLimit: 1 });
    await peer('a', 'tok');
    await peer('a', 'tok');
    expect(server!.peerCount).toBe(1);
  });

  it('refuses upgrades on any other path with 404', async () => {
    await start();
    const port = server!.address()!.port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/elsewhere?key=peerjs&id=a&token=t`);
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
    ws.terminate();
  });

  it('serves the socket under a custom path and under the root path', async () => {
    await start({ path: '/signal/' });
    expect(socketUrl(server!, {})).toContain('/signal/peerjs?');
    await peer('a');
    await server!.close();
    await start({ path: '/' });
    await peer('b');
  });
});

describe('relay', () => {
  it('relays every relayed type with the server-set src and every other field unchanged', async () => {
    await start();
    const alice = await peer('alice');
    const bob = await peer('bob');
    const payload = { sdp: 'v=0\r\n'.repeat(50), type: 'offer', connectionId: 'dc_1', nested: { list: [1, 'two', null] } };
    for (const type of ['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE', 'EXPIRE']) {
      alice.send({ type, dst: 'bob', payload, extra: 42 });
      expect(await bob.next()).toEqual({ type, dst: 'bob', src: 'alice', payload, extra: 42 });
    }
  });

  it('never lets a client spoof src, however it is spelled', async () => {
    await start();
    const alice = await peer('alice');
    const bob = await peer('bob');
    alice.send({ type: 'OFFER', dst: 'bob', src: 'mallory', payload: 1 });
    expect(await bob.next()).toMatchObject({ src: 'alice' });
    alice.sendRaw('{"type":"OFFER","dst":"bob","\\u0073rc":"mallory","payload":2}');
    expect(await bob.next()).toMatchObject({ src: 'alice', payload: 2 });
    alice.sendRaw('{"src":"x","type":"OFFER","dst":"bob","src":"mallory","payload":3}  \n');
    expect(await bob.next()).toMatchObject({ src: 'alice', payload: 3 });
    // Not even as a duplicate key that a lenient parser would resolve the right way.
    expect(bob.texts.filter((text) => text.includes('mallory') || text.includes('\\u0073rc'))).toEqual([]);
    const offers = bob.texts.filter((text) => text.includes('OFFER'));
    expect(offers).toHaveLength(3);
    expect(offers.every((text) => text.split('"src"').length === 2)).toBe(true);
  });

  it('keeps the order of messages from one sender', async () => {
    await start();
    const alice = await peer('alice');
    const bob = await peer('bob');
    for (let i = 0; i < 100; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { i } });
    const received = await nextMany(bob, 100);
    expect(received.map((message) => (message.payload as { i: number }).i)).toEqual([...Array(100).keys()]);
  });

  it('queues OFFER/ANSWER/CANDIDATE for an absent peer and delivers them in order after its OPEN', async () => {
    await start({ expireTimeoutMs: 5000 });
    const alice = await peer('alice');
    alice.send({ type: 'OFFER', dst: 'bob', payload: 1 });
    alice.send({ type: 'LEAVE', dst: 'bob' });
    alice.send({ type: 'EXPIRE', dst: 'bob' });
    alice.send({ type: 'CANDIDATE', dst: 'bob', payload: 2 });
    alice.send({ type: 'ANSWER', dst: 'bob', payload: 3 });
    await expect.poll(() => alice.ws.bufferedAmount, { timeout: 5000 }).toBe(0);
    // A round trip through the server guarantees it handled the frames above before bob connects.
    alice.send({ type: 'HEARTBEAT' });
    const probe = await peer('probe');
    alice.send({ type: 'OFFER', dst: 'probe', payload: 'sync' });
    await probe.next();
    const bob = raw({ key: 'peerjs', id: 'bob', token: 't' });
    const frames = await nextMany(bob, 4);
    expect(frames).toEqual([
      { type: 'OPEN' },
      { type: 'OFFER', dst: 'bob', src: 'alice', payload: 1 },
      { type: 'CANDIDATE', dst: 'bob', src: 'alice', payload: 2 },
      { type: 'ANSWER', dst: 'bob', src: 'alice', payload: 3 },
    ]);
    expect(alice.pending).toEqual([]);
  });

  it('sends one EXPIRE per sender and destination when queued messages time out', async () => {
    await start({ expireTimeoutMs: 150 });
    const alice = await peer('alice');
    const carol = await peer('carol');
    for (let i = 0; i < 5; i++) alice.send({ type: 'CANDIDATE', dst: 'ghost', payload: i });
    alice.send({ type: 'OFFER', dst: 'phantom' });
    carol.send({ type: 'OFFER', dst: 'ghost' });
    const aliceFrames = await nextMany(alice, 2);
    expect(aliceFrames).toEqual(
      expect.arrayContaining([
        { type: 'EXPIRE', src: 'ghost', dst: 'alice' },
        { type: 'EXPIRE', src: 'phantom', dst: 'alice' },
      ]),
    );
    expect(await carol.next()).toEqual({ type: 'EXPIRE', src: 'ghost', dst: 'carol' });
    // The dropped messages are not delivered to a late arrival.
    const ghost = await peer('ghost');
    alice.send({ type: 'OFFER', dst: 'ghost', payload: 'fresh' });
    expect(await ghost.next()).toMatchObject({ payload: 'fresh' });
    // ghost's queue was empty when it registered, so every EXPIRE its expiry sent is ahead of this one (answered at once).
    alice.send({ type: 'OFFER', dst: 'not/valid' });
    expect(await alice.next()).toEqual({ type: 'EXPIRE', src: 'not/valid', dst: 'alice' });
  });

  it('answers EXPIRE at once for a destination id no client could ever hold', async () => {
    await start();
    const alice = await peer('alice');
    alice.send({ type: 'OFFER', dst: 'not/valid' });
    expect(await alice.next()).toEqual({ type: 'EXPIRE', src: 'not/valid', dst: 'alice' });
  });

  it('LEAVE without dst unregisters the sender and closes its socket', async () => {
    await start();
    const alice = await peer('alice');
    alice.send({ type: 'LEAVE' });
    expect(await alice.closed).toBe(1000);
    expect(server!.peerCount).toBe(0);
    await peer('alice', 'another-token');
  });

  it('a destination whose socket is closing counts as absent: the message waits instead of vanishing', async () => {
    await start({ expireTimeoutMs: 5000 });
    const alice = await peer('alice');
    const bob = await peer('bob', 'b');
    bob.ws.close();
    await bob.closed;
    alice.send({ type: 'OFFER', dst: 'bob', payload: 'later' });
    const again = raw({ key: 'peerjs', id: 'bob', token: 'b' });
    expect(await nextMany(again, 2)).toEqual([{ type: 'OPEN' }, { type: 'OFFER', dst: 'bob', src: 'alice', payload: 'later' }]);
  });
});

describe('bad input', () => {
  const bad: Array<[string, string | Buffer, boolean, RegExp | undefined]> = [
    ['malformed JSON', '{"type":', false, /^Invalid message/],
    ['a JSON array', '[1,2]', false, /^Invalid message/],
    ['a JSON string', '"OFFER"', false, /^Invalid message/],
    ['null', 'null', false, /^Invalid message/],
    ['a missing type', '{"dst":"bob"}', false, /^Invalid message/],
    ['a numeric type', '{"type":5}', false, /^Invalid message/],
    ['a relay type without dst', '{"type":"OFFER"}', false, /needs a string "dst"/],
    ['a relay type with a numeric dst', '{"type":"OFFER","dst":7}', false, /needs a string "dst"/],
    ['a binary frame', Buffer.from([0, 1, 2, 3]), true, /binary frames/],
  ];

  it.each(bad)('%s gets an ERROR frame and does not disturb other peers', async (_name, data, binary, expected) => {
    await start();
    const mallory = await peer('mallory');
    const alice = await peer('alice');
    const bob = await peer('bob');
    mallory.sendRaw(data, binary);
    const reply = await mallory.next();
    expect(reply.type).toBe('ERROR');
    expect((reply.payload as { msg: string }).msg).toMatch(expected!);
    alice.send({ type: 'OFFER', dst: 'bob', payload: 'still fine' });
    expect(await bob.next()).toMatchObject({ src: 'alice', payload: 'still fine' });
    // The sender stays connected and can still relay.
    mallory.send({ type: 'CANDIDATE', dst: 'bob' });
    expect(await bob.next()).toMatchObject({ src: 'mallory' });
  });

  it('a message of an unknown type is ignored, not answered with an ERROR (the peerjs client aborts on any ERROR)', async () => {
    await start();
    const newer = await peer('newer');
    const bob = await peer('bob');
    newer.sendRaw('{"type":"SOME-FUTURE-TYPE","dst":"bob","payload":{}}');
    newer.sendRaw('{"type":"OPEN"}');
    // Frames from one socket are handled in order: once this CANDIDATE arrives, the two above were handled.
    newer.send({ type: 'CANDIDATE', dst: 'bob', payload: 'after' });
    expect(await bob.next()).toMatchObject({ type: 'CANDIDATE', src: 'newer', payload: 'after' });
    bob.send({ type: 'ANSWER', dst: 'newer', payload: 'back' });
    expect(await newer.next()).toMatchObject({ type: 'ANSWER', src: 'bob', payload: 'back' });
    expect(newer.texts.filter((text) => text.includes('"ERROR"'))).toEqual([]);
    expect(bob.pending).toEqual([]);
    expect(newer.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('frames from a socket that never registered are read and dropped, never relayed', async () => {
    await start();
    const alice = await peer('alice');
    const bob = await peer('bob');
    const offer = (payload: string): Buffer => clientFrame(0x1, Buffer.from(JSON.stringify({ type: 'OFFER', dst: 'bob', payload })));
    // An OFFER in the same write as the upgrade request reaches the server before any answer could stop it.
    // The control: from an admitted socket such a frame is read and relayed.
    const carol = opened(rawWebSocket(socketUrl(server!, { key: 'peerjs', id: 'carol', token: 't' }), { withUpgrade: [offer('from carol')] }));
    expect(await bob.next()).toMatchObject({ type: 'OFFER', src: 'carol', payload: 'from carol' });
    carol.socket.destroy();
    // A wrong key: the server answers ERROR and closes; the OFFER, read before the closing handshake ends, goes nowhere.
    const stranger = opened(rawWebSocket(socketUrl(server!, { key: 'wrong', id: 'x', token: 't' }), { withUpgrade: [offer('from a stranger')] }));
    expect(JSON.parse(await within(stranger.text(() => true), 2000, 'the ERROR'))).toEqual({ type: 'ERROR', payload: { msg: 'Invalid key provided' } });
    expect(await within(stranger.closeFrame, 2000, 'the close frame')).toBe(1008);
    await within(stranger.closed, 2000, 'the server to end the connection');
    // Whatever the stranger's frame caused happened before its connection ended: bob's next frame is the marker sent now.
    alice.send({ type: 'OFFER', dst: 'bob', payload: 'marker' });
    expect(await bob.next()).toMatchObject({ type: 'OFFER', src: 'alice', payload: 'marker' });
    expect(bob.texts.filter((text) => text.includes('stranger'))).toEqual([]);
  });
});

describe('liveness', () => {
  it('closes a peer that sends nothing and answers no ping, and frees its id', async () => {
    await start({ aliveTimeoutMs: 300 });
    const url = socketUrl(server!, { key: 'peerjs', id: 'sleepy', token: 't' });
    // autoPong off: this client behaves like a dead TCP peer.
    const ws = new WebSocket(url, { autoPong: false });
    ws.on('error', () => {});
    const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    await closed;
    expect(server!.peerCount).toBe(0);
    await peer('sleepy', 'other');
  });

  // The client shares this process with the server: a stall of the event loop delays its pongs and heartbeats as much as
  // the server's sweep. The alive timeouts below leave seconds for that; the tests still outlast a timeout.
  it('keeps a peer that only answers pings (pongs count as alive)', async () => {
    // A sweep a second: a ping once the peer has been quiet for one, the close after three without a pong.
    await start({ aliveTimeoutMs: 3000 });
    const quiet = await peer('quiet');
    let pings = 0;
    quiet.ws.on('ping', () => pings++);
    // A peer whose pongs did not count would be closed 3 s after it connected; the third ping comes later than that.
    await expect.poll(() => pings, { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(3);
    expect(quiet.ws.readyState).toBe(WebSocket.OPEN);
    expect(server!.peerCount).toBe(1);
  });

  // The exact bytes the peerjs client sends take a fast path; any other spelling goes through the parser.
  it.each([['{"type":"HEARTBEAT"}'], ['{ "type" : "HEARTBEAT" }']])('keeps a peer that never pongs but sends %s', async (heartbeat) => {
    await start({ aliveTimeoutMs: 2000 });
    const url = socketUrl(server!, { key: 'peerjs', id: 'beating', token: 't' });
    const ws = new WebSocket(url, { autoPong: false });
    clients.push({ ws, closed: new Promise((resolve) => ws.on('close', resolve)) } as unknown as TestClient);
    ws.on('error', () => {});
    let beats = 0;
    ws.once('message', () => {
      const timer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return clearInterval(timer);
        ws.send(heartbeat);
        beats++;
      }, 100);
    });
    // One and a half alive timeouts' worth of heartbeats, and no pong at all.
    await expect.poll(() => beats, { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(30);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(server!.peerCount).toBe(1);
  });

  it('counts heartbeats against the rate limit', async () => {
    await start({ rateLimitPerSec: 1, rateBurst: 5 });
    const flooder = await peer('flooder');
    for (let i = 0; i < 20; i++) flooder.sendRaw('{"type":"HEARTBEAT"}');
    expect(await flooder.next()).toEqual({ type: 'ERROR', payload: { msg: expect.stringMatching(/^Rate limit exceeded/) } });
    expect(await flooder.closed).toBe(1008);
  });
});

describe('shutdown', () => {
  it('closes every socket with 1001 and resolves close() once; close() is idempotent', async () => {
    await start();
    const a = await peer('a');
    const b = await peer('b');
    const first = server!.close();
    const second = server!.close();
    expect(second).toBe(first);
    await first;
    expect(await a.closed).toBe(1001);
    expect(await b.closed).toBe(1001);
  });

  it('answers an upgrade that arrives while shutting down with 503, as ws does', async () => {
    // The transport alone, handed an upgrade on a real TCP connection after its close() began: what a
    // request already being read when shutdown starts would meet.
    const transport = new WebSocketTransport(resolveConfig({}), silentLogger, createMemoryBackend());
    const listener = createNetServer();
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
    const [accepted] = (await once(listener, 'connection')) as [Socket];
    let response = '';
    client.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    const closed = transport.close();
    const request = {
      method: 'GET',
      url: '/peerjs/peerjs?key=peerjs&id=late&token=t',
      headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': randomBytes(16).toString('base64'), 'sec-websocket-version': '13' },
      socket: accepted,
    } as unknown as IncomingMessage;
    transport.handleUpgrade(request, accepted, Buffer.alloc(0));
    await once(client, 'end');
    expect(response).toMatch(/^HTTP\/1\.1 503 /);
    await closed;
    client.destroy();
    listener.close();
  });

  it('terminates sockets that never finish the closing handshake after closeTimeoutMs', async () => {
    await start({ closeTimeoutMs: 100 });
    // Reads everything, never answers the server's close frame.
    const stuck = opened(rawWebSocket(socketUrl(server!, { key: 'peerjs', id: 'stuck', token: 't' }), { answerClose: false }));
    await within(stuck.text((text) => text.includes('"OPEN"')), 2000, 'OPEN');
    // ws cuts off a socket that leaves its close frame unanswered after 1 s by itself. A timer due well before that, set
    // before close() starts, orders the two whatever the event loop's delays: terminated at closeTimeoutMs, close() wins.
    let cutOffTime = false;
    const cutOff = setTimeout(() => (cutOffTime = true), 900);
    const started = performance.now();
    await server!.close();
    const tookMs = performance.now() - started;
    clearTimeout(cutOff);
    expect(cutOffTime, `close() took ${Math.round(tookMs)} ms: it waited for ws to cut the socket off`).toBe(false);
    // It waited for the handshake first.
    expect(tookMs).toBeGreaterThanOrEqual(95);
    expect(await within(stuck.closeFrame, 1000, 'the close frame')).toBe(1001);
    // Terminated, not left open: the server ended the TCP connection itself.
    await within(stuck.closed, 2000, 'the server to drop the connection');
  });
});
