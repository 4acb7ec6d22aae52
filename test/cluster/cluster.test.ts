// Cluster mode over real Redis, one redis-server and a three-master Redis Cluster: in-process instances sharing one peer namespace behave like one server.
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import type { Config } from '../../src/config.js';
import { closeAll, connectPeer, connectRaw, nextMany, socketUrl, type TestClient, type WireMessage } from '../support/peer-client.js';
import { startRedisCluster } from '../support/redis-cluster.js';
import { findClosedPort, skipWithoutRedis, startRedis } from '../support/redis-server.js';

/** State written by another instance (its ids, in Redis) is visible well within this on a busy machine. */
const SETTLE_MS = 5000;
const ID_TAKEN = { type: 'ID-TAKEN', payload: { msg: 'ID is taken' } };

const skip = skipWithoutRedis('the cluster tests');

/** Where the instances share their ids: the same tests run against both. */
const BACKENDS = [
  {
    name: 'one redis-server',
    start: async () => {
      const server = await startRedis();
      return { url: server.url, cluster: false, stop: () => server.stop() };
    },
  },
  {
    name: 'a Redis Cluster of three masters (sharded pub/sub)',
    start: async () => {
      const cluster = await startRedisCluster({ masters: 3 });
      return { url: cluster.url, cluster: true, stop: () => cluster.stop() };
    },
  },
];

describe.skipIf(skip).each(BACKENDS)('cluster mode (in-process instances, $name)', (backend) => {
  let redis: { url: string; cluster: boolean; stop(): Promise<void> } | undefined;
  /** A fresh key/channel prefix per test: tests on the shared redis-server never see each other. */
  let prefix = '';
  const servers: SignalServer[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await backend.start();
  }, 60_000);

  afterAll(async () => {
    await redis?.stop();
  });

  beforeEach(() => {
    prefix = `test-${randomBytes(5).toString('hex')}:`;
  });

  afterEach(async () => {
    await closeAll(clients.splice(0));
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  async function instance(config: Partial<Config> = {}): Promise<SignalServer> {
    const server = createSignalServer({
      host: '127.0.0.1',
      port: 0,
      redisUrl: redis!.url,
      redisCluster: redis!.cluster,
      redisPrefix: prefix,
      allowDiscovery: true,
      ...config,
    });
    servers.push(server);
    await server.listen();
    return server;
  }

  async function peer(server: SignalServer, id: string, token?: string): Promise<TestClient> {
    const client = await connectPeer(server, id, token);
    clients.push(client);
    return client;
  }

  function raw(server: SignalServer, id: string, token: string): TestClient {
    const client = connectRaw(socketUrl(server, { key: 'peerjs', id, token }));
    clients.push(client);
    return client;
  }

  async function getJson(server: SignalServer, path: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`http://127.0.0.1:${server.address()!.port}${path}`);
    return { status: response.status, body: await response.json() };
  }

  async function peersOf(server: SignalServer): Promise<string[]> {
    const { status, body } = await getJson(server, '/peerjs/peerjs/peers');
    if (status !== 200) throw new Error(`GET /peers answered ${status}: ${JSON.stringify(body)}`);
    return (body as string[]).slice().sort();
  }

  async function health(server: SignalServer): Promise<Record<string, unknown>> {
    const { status, body } = await getJson(server, '/health');
    expect(status).toBe(200);
    return body as Record<string, unknown>;
  }

  /** Waits until `server` lists `id` (read from Redis) as connected somewhere in the cluster. */
  async function knows(server: SignalServer, id: string): Promise<void> {
    await expect.poll(() => peersOf(server), { timeout: SETTLE_MS }).toContain(id);
  }

  /** A round trip through `server` via a local probe: every frame `sender` sent before has been handled. */
  async function drain(server: SignalServer, sender: TestClient): Promise<void> {
    const id = `probe-${randomBytes(3).toString('hex')}`;
    const probe = await peer(server, id);
    sender.send({ type: 'OFFER', dst: id, payload: 'sync' });
    expect(await probe.next()).toMatchObject({ payload: 'sync' });
  }

  /** Runs `use` on a plain ioredis connection to the test's Redis (a Cluster client for the Redis Cluster). */
  async function withRedis<T>(use: (connection: Redis | Cluster) => Promise<T>): Promise<T> {
    const connection = redis!.cluster
      ? new Cluster(redis!.url.split(','), { lazyConnect: true })
      : new Redis(redis!.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await connection.connect();
      return await use(connection);
    } finally {
      connection.disconnect();
    }
  }

  /** The instance holding `id`, from its owner record (redis-keys.ts). */
  async function holderOf(id: string): Promise<string> {
    const record = await withRedis((connection) => connection.get(`${prefix}id:{${id}}`));
    expect(record).toMatch(/^[0-9a-f]{12} \S+$/);
    return record!.split(' ')[0]!;
  }

  describe('one id namespace', () => {
    it('a second peer with the same id on another instance gets ID-TAKEN; the first keeps working', async () => {
      const a = await instance();
      const b = await instance();
      const alice = await peer(a, 'alice', 'one');
      const intruder = raw(b, 'alice', 'two');
      expect(await intruder.next()).toEqual(ID_TAKEN);
      expect(await intruder.closed).toBe(1008);
      expect(b.peerCount).toBe(0);
      const bob = await peer(b, 'bob');
      await knows(b, 'alice');
      bob.send({ type: 'OFFER', dst: 'alice', payload: { sdp: 'x' } });
      expect(await alice.next()).toEqual({ type: 'OFFER', dst: 'alice', src: 'bob', payload: { sdp: 'x' } });
    });

    it('ids with spaces are routed and listed whole across instances', async () => {
      const a = await instance();
      const b = await instance();
      const spaced = await peer(a, 'alice smith', 'token-spaced');
      await peer(a, 'alice');
      const bob = await peer(b, 'bob');
      await knows(b, 'alice smith');
      bob.send({ type: 'OFFER', dst: 'alice smith', payload: 'to the spaced one' });
      expect(await spaced.next()).toEqual({ type: 'OFFER', dst: 'alice smith', src: 'bob', payload: 'to the spaced one' });
      expect(await peersOf(b)).toEqual(['alice', 'alice smith', 'bob']);
      spaced.ws.close();
      await expect.poll(() => peersOf(b), { timeout: SETTLE_MS }).toEqual(['alice', 'bob']);
    });

    it('two sockets racing for one id on two instances: exactly one gets OPEN', async () => {
      const a = await instance();
      const b = await instance();
      for (let round = 0; round < 5; round++) {
        const id = `race-${round}`;
        const left = raw(a, id, 'left');
        const right = raw(b, id, 'right');
        const firsts = await Promise.all([left.next(), right.next()]);
        expect(firsts.map((frame) => frame.type).sort()).toEqual(['ID-TAKEN', 'OPEN']);
        const loser = firsts[0]!.type === 'OPEN' ? right : left;
        expect(await loser.closed).toBe(1008);
      }
      expect(a.peerCount + b.peerCount).toBe(5);
    });

    it('the same id and token through another instance takes over; the old socket, wherever it is, closes with 4000', async () => {
      const a = await instance();
      const b = await instance();
      const first = await peer(a, 'alice', 'secret');
      const second = await peer(b, 'alice', 'secret');
      expect(await first.closed).toBe(4000);
      await expect.poll(() => a.peerCount).toBe(0);
      expect(b.peerCount).toBe(1);
      // The id now belongs to the new socket: a sender on the old instance reaches it.
      const bob = await peer(a, 'bob');
      bob.send({ type: 'CANDIDATE', dst: 'alice', payload: { candidate: 'c1' } });
      expect(await second.next()).toEqual({ type: 'CANDIDATE', dst: 'alice', src: 'bob', payload: { candidate: 'c1' } });
      // The old socket's close released nothing: another token is still refused, on either instance.
      const intruder = raw(a, 'alice', 'other');
      expect(await intruder.next()).toEqual(ID_TAKEN);
      // And back again through the first instance.
      const third = await peer(a, 'alice', 'secret');
      expect(await second.closed).toBe(4000);
      await expect.poll(() => b.peerCount).toBe(0);
      const carol = await peer(b, 'carol');
      carol.send({ type: 'ANSWER', dst: 'alice', payload: 'back' });
      expect(await third.next()).toEqual({ type: 'ANSWER', dst: 'alice', src: 'carol', payload: 'back' });
      expect(await peersOf(a)).toEqual(['alice', 'bob', 'carol']);
    });

    it('an id freed on one instance (close or LEAVE) can be claimed with another token on another', async () => {
      const a = await instance();
      const b = await instance();
      const alice = await peer(a, 'alice', 'one');
      alice.ws.close();
      await alice.closed;
      await vi.waitFor(
        async () => {
          const again = raw(b, 'alice', 'two');
          expect(await again.next()).toEqual({ type: 'OPEN' });
        },
        { timeout: SETTLE_MS, interval: 50 },
      );
      const bob = await peer(b, 'bob', 'one');
      bob.send({ type: 'LEAVE' });
      expect(await bob.closed).toBe(1000);
      await vi.waitFor(
        async () => {
          const again = raw(a, 'bob', 'two');
          expect(await again.next()).toEqual({ type: 'OPEN' });
        },
        { timeout: SETTLE_MS, interval: 50 },
      );
    });
  });

  describe('relay across instances', () => {
    it('relays every relayed type to dst on another instance with the server-set src and every other field unchanged', async () => {
      const a = await instance();
      const b = await instance();
      const alice = await peer(a, 'alice');
      const bob = await peer(b, 'bob');
      await knows(a, 'bob');
      const payload = { sdp: 'v=0\r\n'.repeat(50), type: 'offer', connectionId: 'dc_1', nested: { list: [1, 'two', null] } };
      for (const type of ['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE', 'EXPIRE']) {
        alice.send({ type, dst: 'bob', payload, extra: 42 });
        expect(await bob.next()).toEqual({ type, dst: 'bob', src: 'alice', payload, extra: 42 });
      }
      alice.send({ type: 'OFFER', dst: 'bob', src: 'mallory', payload: 'spoof' });
      expect(await bob.next()).toEqual({ type: 'OFFER', dst: 'bob', src: 'alice', payload: 'spoof' });
      expect(bob.texts.filter((text) => text.includes('mallory'))).toEqual([]);
      expect(bob.texts.slice(1).every((text) => text.split('"src"').length === 2)).toBe(true);
      // And the other way.
      await knows(b, 'alice');
      bob.send({ type: 'ANSWER', dst: 'alice', payload: { sdp: 'answer' } });
      expect(await alice.next()).toEqual({ type: 'ANSWER', dst: 'alice', src: 'bob', payload: { sdp: 'answer' } });
    });

    it('keeps the order of 200 messages from one sender across instances', async () => {
      const a = await instance();
      const b = await instance();
      const alice = await peer(a, 'alice');
      const bob = await peer(b, 'bob');
      await knows(a, 'bob');
      for (let i = 0; i < 200; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { i } });
      const received = await nextMany(bob, 200, 5000);
      expect(received.map((message) => (message.payload as { i: number }).i)).toEqual([...Array(200).keys()]);
      expect(received.every((message) => message.src === 'alice' && message.dst === 'bob')).toBe(true);
    });

    it('keeps the send order when the first messages waited for dst and the rest were sent after it connected elsewhere', async () => {
      const a = await instance({ expireTimeoutMs: 10_000 });
      const b = await instance();
      const alice = await peer(a, 'alice');
      for (let i = 0; i < 50; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { i } });
      await drain(a, alice);
      const bob = raw(b, 'bob', 'b');
      expect(await bob.next()).toEqual({ type: 'OPEN' });
      for (let i = 50; i < 100; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { i } });
      const received = await nextMany(bob, 100, 5000);
      expect(received.map((message) => (message.payload as { i: number }).i)).toEqual([...Array(100).keys()]);
      expect(alice.pending).toEqual([]);
    });

    it('messages for a peer connected nowhere wait, and are delivered in order when it connects on any instance', async () => {
      const a = await instance({ expireTimeoutMs: 10_000 });
      const b = await instance({ expireTimeoutMs: 10_000 });
      const c = await instance();
      const alice = await peer(a, 'alice');
      const dave = await peer(b, 'dave');
      alice.send({ type: 'OFFER', dst: 'carol', payload: 1 });
      alice.send({ type: 'LEAVE', dst: 'carol' });
      alice.send({ type: 'EXPIRE', dst: 'carol' });
      alice.send({ type: 'CANDIDATE', dst: 'carol', payload: 2 });
      alice.send({ type: 'ANSWER', dst: 'carol', payload: 3 });
      dave.send({ type: 'OFFER', dst: 'carol', payload: 'from dave' });
      await drain(a, alice);
      await drain(b, dave);
      // carol connects on a third instance, which never saw any of those messages.
      const carol = raw(c, 'carol', 'c');
      expect(await carol.next()).toEqual({ type: 'OPEN' });
      const frames = await nextMany(carol, 4, 5000);
      const fromAlice = frames.filter((frame) => frame.src === 'alice');
      expect(fromAlice).toEqual([
        { type: 'OFFER', dst: 'carol', src: 'alice', payload: 1 },
        { type: 'CANDIDATE', dst: 'carol', src: 'alice', payload: 2 },
        { type: 'ANSWER', dst: 'carol', src: 'alice', payload: 3 },
      ]);
      expect(frames.filter((frame) => frame.src === 'dave')).toEqual([{ type: 'OFFER', dst: 'carol', src: 'dave', payload: 'from dave' }]);
      expect(alice.pending).toEqual([]);
      expect(dave.pending).toEqual([]);
    });

    it('a sender whose dst is connected nowhere gets EXPIRE after the expire timeout', async () => {
      const a = await instance({ expireTimeoutMs: 200 });
      await instance();
      const alice = await peer(a, 'alice');
      alice.send({ type: 'OFFER', dst: 'ghost', payload: 1 });
      alice.send({ type: 'CANDIDATE', dst: 'ghost', payload: 2 });
      expect(await alice.next(3000)).toEqual({ type: 'EXPIRE', src: 'ghost', dst: 'alice' });
      // One EXPIRE per sender and destination, not one per message.
      alice.send({ type: 'OFFER', dst: 'phantom' });
      expect(await alice.next(3000)).toEqual({ type: 'EXPIRE', src: 'phantom', dst: 'alice' });
      expect(alice.pending).toEqual([]);
    });

    it('a dst whose instance no longer listens counts as absent: the sender gets EXPIRE, not silence', async () => {
      const a = await instance({ expireTimeoutMs: 300 });
      await instance();
      const alice = await peer(a, 'alice');
      // An owner record of an instance nobody runs: what a crashed instance leaves until it is reaped.
      await withRedis((connection) => connection.set(`${prefix}id:{ghost}`, 'deadbeef0000 x'));
      alice.send({ type: 'OFFER', dst: 'ghost', payload: 'hello?' });
      expect(await alice.next(3000)).toEqual({ type: 'EXPIRE', src: 'ghost', dst: 'alice' });
      // Nobody lists it: the listing reads the ids of live instances only.
      expect(await peersOf(a)).toEqual(['alice']);
    });

    it('a message that waited on the dst instance and expired there reaches the sender on another instance as EXPIRE', async () => {
      const a = await instance({ expireTimeoutMs: 10_000 });
      const b = await instance({ expireTimeoutMs: 300 });
      const alice = await peer(a, 'alice');
      await peer(b, 'bob');
      await knows(b, 'alice');
      // A stale owner record pointing at b (a live instance) for an id b does not hold: b must queue, expire and tell alice.
      const bInstance = await holderOf('bob');
      await withRedis((connection) => connection.set(`${prefix}id:{ghost}`, `${bInstance} x`));
      alice.send({ type: 'OFFER', dst: 'ghost', payload: 'hello?' });
      expect(await alice.next(3000)).toEqual({ type: 'EXPIRE', src: 'ghost', dst: 'alice' });
    });
  });

  describe('routes to peers on other instances', () => {
    it('a sender keeps reaching a peer that moves (take-over, then leave and reconnect elsewhere): nothing is lost, and order holds once it stays', async () => {
      const a = await instance();
      const b = await instance();
      const c = await instance();
      const alice = await peer(a, 'alice');
      const bob = await peer(b, 'bob', 'secret');
      alice.send({ type: 'OFFER', dst: 'bob', payload: 'to b' });
      expect(await bob.next()).toMatchObject({ payload: 'to b' });
      const payloads = async (to: TestClient, count: number): Promise<number[]> =>
        (await nextMany(to, count, 5000)).map((message) => (message.payload as { i: number }).i);

      // a remembers that bob is on b; bob takes over through c. Frames sent right after the move
      // reach c (b passes them on once and tells a its route is stale), none lost.
      const bobOnC = await peer(c, 'bob', 'secret');
      expect(await bob.closed).toBe(4000);
      for (let i = 0; i < 30; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { i } });
      expect((await payloads(bobOnC, 30)).sort((x, y) => x - y)).toEqual([...Array(30).keys()]);
      for (let i = 30; i < 60; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { i } });
      expect(await payloads(bobOnC, 30)).toEqual([...Array(30).keys()].map((i) => i + 30));

      // bob leaves c and comes back on b with another token: a's route (c) is stale again.
      bobOnC.send({ type: 'LEAVE' });
      expect(await bobOnC.closed).toBe(1000);
      const bobAgain = await vi.waitFor(
        async () => {
          const attempt = raw(b, 'bob', 'new-token');
          expect(await attempt.next()).toEqual({ type: 'OPEN' });
          return attempt;
        },
        { timeout: SETTLE_MS, interval: 50 },
      );
      for (let i = 60; i < 90; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { i } });
      expect((await payloads(bobAgain, 30)).sort((x, y) => x - y)).toEqual([...Array(30).keys()].map((i) => i + 60));
      for (let i = 90; i < 120; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { i } });
      expect(await payloads(bobAgain, 30)).toEqual([...Array(30).keys()].map((i) => i + 90));
      expect(alice.pending).toEqual([]);
    });

    it('joins and leaves are not broadcast: an instance whose peers talk to nobody elsewhere receives nothing', async () => {
      const a = await instance();
      const b = await instance();
      const c = await instance();
      await peer(c, 'carol');
      const inbox = `${prefix}to:{${await holderOf('carol')}}`;
      const listener = redis!.cluster
        ? new Cluster(redis!.url.split(','), { lazyConnect: true, shardedSubscribers: true })
        : new Redis(redis!.url, { lazyConnect: true });
      const heard: string[] = [];
      listener.on('smessage', (_channel: string, message: string) => heard.push(message));
      try {
        await listener.connect();
        await listener.ssubscribe(inbox);
        for (let round = 0; round < 10; round++) {
          const [left, right] = await Promise.all([peer(a, `churn-a${round}`), peer(b, `churn-b${round}`)]);
          left.send({ type: 'OFFER', dst: `churn-b${round}`, payload: round });
          expect(await right.next()).toMatchObject({ payload: round });
          left.send({ type: 'LEAVE' });
          right.ws.close();
          await Promise.all([left.closed, right.closed]);
        }
        // A round trip through c's inbox after the churn: whatever reached it before has arrived.
        const alice = await peer(a, 'alice');
        alice.send({ type: 'OFFER', dst: 'carol', payload: 'marker' });
        await expect.poll(() => heard.length, { timeout: SETTLE_MS }).toBe(1);
        expect(heard[0]).toContain('marker');
      } finally {
        listener.disconnect();
      }
    });
  });

  describe('discovery, health and limits', () => {
    it('GET /peers pages through the cluster with Link headers; a bad cursor or limit is a 400', async () => {
      const a = await instance();
      const b = await instance();
      for (const id of ['a1', 'a2', 'a3']) await peer(a, id);
      for (const id of ['b1', 'b2']) await peer(b, id);
      const seen: string[] = [];
      let next: URL | undefined = new URL(`http://127.0.0.1:${a.address()!.port}/peerjs/peerjs/peers?limit=2`);
      let pages = 0;
      while (next !== undefined) {
        const response = await fetch(next);
        expect(response.status).toBe(200);
        seen.push(...((await response.json()) as string[]));
        pages++;
        const link = response.headers.get('link');
        if (link !== null) expect(response.headers.get('access-control-expose-headers')).toBe('Link');
        // `<?limit=2&cursor=...>; rel="next"`, relative to the page's own URL.
        next = link === null ? undefined : new URL(/^<([^>]*)>; rel="next"$/.exec(link)![1]!, next);
        expect(pages).toBeLessThan(10);
      }
      expect(pages).toBeGreaterThanOrEqual(2);
      expect(seen.sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
      for (const query of ['cursor=nonsense', 'limit=0', 'limit=10001', 'limit=two']) {
        const { status, body } = await getJson(a, `/peerjs/peerjs/peers?${query}`);
        expect({ query, status }).toEqual({ query, status: 400 });
        expect((body as { error: string }).error).toMatch(/cursor|limit/);
      }
    });


    it('GET /peers on any instance lists the ids of the whole cluster', async () => {
      const a = await instance();
      const b = await instance();
      await peer(a, 'alice');
      await peer(a, 'bob');
      const carol = await peer(b, 'carol');
      await expect.poll(() => peersOf(a), { timeout: SETTLE_MS }).toEqual(['alice', 'bob', 'carol']);
      await expect.poll(() => peersOf(b), { timeout: SETTLE_MS }).toEqual(['alice', 'bob', 'carol']);
      carol.send({ type: 'LEAVE' });
      await carol.closed;
      await expect.poll(() => peersOf(a), { timeout: SETTLE_MS }).toEqual(['alice', 'bob']);
      await expect.poll(() => peersOf(b), { timeout: SETTLE_MS }).toEqual(['alice', 'bob']);
    });

    it('/health reports the instance peers, the cluster peers and instances, and the Redis state', async () => {
      const a = await instance({ clusterLeaseMs: 600 });
      const b = await instance({ clusterLeaseMs: 600 });
      await peer(a, 'alice');
      await peer(b, 'bob');
      await peer(b, 'carol');
      await expect
        .poll(() => health(a), { timeout: SETTLE_MS })
        .toMatchObject({ status: 'ok', peers: 1, cluster: { peers: 3, instances: 2, redis: 'connected' } });
      await expect
        .poll(() => health(b), { timeout: SETTLE_MS })
        .toMatchObject({ status: 'ok', peers: 2, cluster: { peers: 3, instances: 2, redis: 'connected' } });
      // An instance that shuts down leaves at once: its ids and itself disappear from the others' view.
      await b.close();
      await expect
        .poll(() => health(a), { timeout: SETTLE_MS })
        .toMatchObject({ status: 'ok', peers: 1, cluster: { peers: 1, instances: 1, redis: 'connected' } });
      expect(await peersOf(a)).toEqual(['alice']);
    });

    it('--concurrent-limit counts the peers of each instance, not of the cluster', async () => {
      const a = await instance({ concurrentLimit: 1 });
      const b = await instance({ concurrentLimit: 1 });
      await peer(a, 'alice');
      const refused = (server: SignalServer, id: string): Promise<WireMessage> => raw(server, id, 't').next();
      expect(await refused(a, 'bob')).toEqual({ type: 'ERROR', payload: { msg: 'Server has reached its concurrent user limit' } });
      await knows(b, 'alice');
      await peer(b, 'bob');
      expect(await refused(b, 'carol')).toEqual({ type: 'ERROR', payload: { msg: 'Server has reached its concurrent user limit' } });
      expect(await peersOf(a)).toEqual(['alice', 'bob']);
    });
  });

  describe('start-up without Redis', () => {
    it('listen() rejects with PEER_SIGNAL_ERR_CLUSTER naming --redis-optional when Redis is unreachable', async () => {
      const port = await findClosedPort();
      const server = createSignalServer({ host: '127.0.0.1', port: 0, redisUrl: `redis://127.0.0.1:${port}`, redisPrefix: prefix });
      servers.push(server);
      const error = (await server.listen().then(
        () => undefined,
        (failure: unknown) => failure,
      )) as (Error & { code?: string }) | undefined;
      expect(error?.code).toBe('PEER_SIGNAL_ERR_CLUSTER');
      expect(error?.message).toContain(`redis://127.0.0.1:${port}`);
      expect(error?.message).toContain('--redis-optional');
      expect(server.address()).toBeNull();
    });

    it('with redisOptional it starts alone, reports degraded, and serves its own peers', async () => {
      const port = await findClosedPort();
      const a = await instance({ redisUrl: `redis://127.0.0.1:${port}`, redisOptional: true });
      const body = await health(a);
      expect(body).toMatchObject({ status: 'degraded', peers: 0, cluster: { peers: 0, instances: 1 } });
      expect((body.cluster as { redis: string }).redis).not.toBe('connected');
      const alice = await peer(a, 'alice');
      const bob = await peer(a, 'bob');
      alice.send({ type: 'OFFER', dst: 'bob', payload: 'local' });
      expect(await bob.next()).toEqual({ type: 'OFFER', dst: 'bob', src: 'alice', payload: 'local' });
      const intruder = raw(a, 'alice', 'other');
      expect(await intruder.next()).toEqual(ID_TAKEN);
    });
  });
});
