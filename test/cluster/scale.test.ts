// What one instance costs does not grow with the rest of the cluster: four instances on one redis-server; the observed one's Redis
// traffic (through a counting proxy) and its memory, measured while the three others hold 100 and then 10,000 peers each.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterBackend, ClusterHooks } from '../../src/cluster/backend.js';
import { createRedisBackend } from '../../src/cluster/redis.js';
import { silentLogger } from '../../src/logger.js';
import { closeAll, connectRaw, nextMany, type TestClient } from '../support/peer-client.js';
import { startRedisProxy, type RedisProxy } from '../support/redis-proxy.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis-server.js';

const OBSERVED = fileURLToPath(new URL('./observed-instance.mjs', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const LEASE_MS = 1000;
/** Every measuring window lasts this long, so it holds the same number of lease renewals. */
const WINDOW_MS = 4000;
const OTHERS = 3;
const SMALL = 100;
const LARGE = 10_000;
const LOCAL_PEERS = 10;
const ROUNDS = 20;
/** Each other instance connects one peer and disconnects another this often during a window (40 joins and 40 leaves per second). */
const CHURN_EVERY_MS = 25;

/**
 * Another instance of the cluster, as Redis sees one: the Redis backend itself (lease, claims, its
 * id set, its count), with its peers held in a map instead of sockets so that 10,000 of them are cheap.
 */
async function startOther(url: string, prefix: string, name: string) {
  const held = new Map<string, string>();
  let received = 0;
  const hooks: ClusterHooks = {
    deliver: (delivery) => {
      if (!held.has(delivery.dst)) return false;
      received++;
      return true;
    },
    kick: (id) => held.delete(id),
    joined: () => {},
    count: () => held.size,
    localPeers: () => [...held].map(([id, token]) => ({ id, token })),
    lost: (id) => held.delete(id),
  };
  const backend: ClusterBackend = createRedisBackend({
    urls: [url],
    cluster: false,
    prefix,
    leaseMs: LEASE_MS,
    waitMs: 5000,
    optional: false,
    logger: silentLogger,
  });
  await backend.start(hooks);
  let serial = 0;
  const connectOne = async (id: string): Promise<void> => {
    const result = await backend.claim(id, `token-${id}`);
    if (result.outcome === 'taken') throw new Error(`${id} taken`);
    held.set(id, `token-${id}`);
  };
  return {
    held,
    received: () => received,
    connectOne,
    async growTo(count: number): Promise<void> {
      while (held.size < count) {
        const batch: Array<Promise<void>> = [];
        while (held.size + batch.length < count && batch.length < 1000) batch.push(connectOne(`${name}-p${serial++}`));
        await Promise.all(batch);
      }
    },
    /** One peer joins and one leaves, as a busy instance's would. */
    churn(): void {
      void connectOne(`${name}-churn${serial++}`).then(() => {
        const oldest = [...held.keys()].find((id) => id.includes('-churn'));
        if (oldest === undefined) return;
        held.delete(oldest);
        backend.release(oldest);
      });
    },
    close: () => backend.close(),
  };
}

const skip = skipWithoutRedis('the cluster scale test');

describe.skipIf(skip)('cluster scale: one instance costs the same whatever the others hold', () => {
  let redis: RedisServer | undefined;
  let proxy: RedisProxy | undefined;
  let child: ChildProcess | undefined;
  const others: Array<Awaited<ReturnType<typeof startOther>>> = [];
  const clients: TestClient[] = [];

  beforeAll(() => {
    if (!existsSync(BUNDLE)) throw new Error('dist/index.js is missing; run npm run build first (npm test does it)');
  });

  afterAll(async () => {
    await closeAll(clients.splice(0));
    if (child !== undefined && child.exitCode === null) {
      child.send('stop');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    await Promise.all(others.splice(0).map((other) => other.close()));
    await proxy?.close();
    await redis?.stop();
  });

  function ask<T>(message: string, event: string): Promise<T> {
    return new Promise((resolve) => {
      const listener = (reply: { event: string }): void => {
        if (reply.event !== event) return;
        child!.off('message', listener);
        resolve(reply as T);
      };
      child!.on('message', listener);
      child!.send(message);
    });
  }

  async function redisUsedMemory(): Promise<number> {
    const connection = new Redis(redis!.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await connection.connect();
      return Number(/used_memory:(\d+)/.exec(await connection.info('memory'))![1]);
    } finally {
      connection.disconnect();
    }
  }

  it('4 instances: the observed one moves the same Redis bytes and holds the same memory with 300 or 30,000 peers elsewhere', async () => {
    redis = await startRedis();
    proxy = await startRedisProxy(redis.port);
    const prefix = `scale-${randomBytes(4).toString('hex')}:`;
    for (let i = 0; i < OTHERS; i++) others.push(await startOther(redis.url, prefix, `o${i}`));
    const config = { host: '127.0.0.1', port: 0, redisUrl: proxy.url, redisPrefix: prefix, clusterLeaseMs: LEASE_MS, rateLimitPerSec: 0 };
    child = fork(OBSERVED, [JSON.stringify(config)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      child!.once('message', resolve as (message: unknown) => void);
      child!.once('exit', (code) => reject(new Error(`the observed instance exited (code ${code}) before listening; its stderr is above`)));
    });
    const local: TestClient[] = [];
    for (let i = 0; i < LOCAL_PEERS; i++) {
      const client = connectRaw(`ws://127.0.0.1:${port}/peerjs/peerjs?key=peerjs&id=local${i}&token=t${i}`);
      clients.push(client);
      expect(await client.next()).toEqual({ type: 'OPEN' });
      local.push(client);
    }

    /**
     * One window: the local peers send to each other and to peers on the other instances (new
     * destinations each window, so both windows look their holders up once), while the others churn.
     */
    const measure = async (window: string) => {
      const targets = others.flatMap((other, o) => [0, 1].map((t) => `o${o}-${window}${t}`));
      await Promise.all(targets.map((id, t) => others[Math.floor(t / 2)]!.connectOne(id)));
      const receivedBefore = others.reduce((sum, other) => sum + other.received(), 0);
      proxy!.reset();
      const started = Date.now();
      let churned = 0;
      const churn = setInterval(() => {
        others.forEach((other) => other.churn());
        churned += others.length;
      }, CHURN_EVERY_MS);
      for (let round = 0; round < ROUNDS; round++) {
        local.forEach((client, i) => {
          client.send({ type: 'CANDIDATE', dst: `local${(i + 1) % LOCAL_PEERS}`, payload: { candidate: 'candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host', round } });
          client.send({ type: 'CANDIDATE', dst: targets[(i + round) % targets.length], payload: { candidate: 'candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host', round } });
        });
        // Paced, not a synchronisation point: the window holds a steady trickle, as real signaling does.
        await new Promise((resolve) => setTimeout(resolve, (WINDOW_MS * 0.6) / ROUNDS));
      }
      for (const client of local) await nextMany(client, ROUNDS, 5000);
      await expect
        .poll(() => others.reduce((sum, other) => sum + other.received(), 0) - receivedBefore, { timeout: 5000 })
        .toBe(ROUNDS * LOCAL_PEERS);
      clearInterval(churn);
      // The same number of lease renewals in every window.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, WINDOW_MS - (Date.now() - started))));
      const traffic = { ...proxy!.counts };
      const memory = await ask<{ heapUsed: number; rss: number }>('measure', 'measured');
      const peersElsewhere = others.reduce((sum, other) => sum + other.held.size, 0);
      return { window, peersElsewhere, churned, ...traffic, heapUsed: memory.heapUsed, rss: memory.rss };
    };

    for (const other of others) await other.growTo(SMALL);
    // A first window warms up whatever runs once (script loading, JIT), then the two compared windows.
    await measure('w');
    const small = await measure('s');
    const redisBefore = await redisUsedMemory();
    const grownAt = Date.now();
    for (const other of others) await other.growTo(LARGE);
    const growMs = Date.now() - grownAt;
    const redisPerPeer = ((await redisUsedMemory()) - redisBefore) / (OTHERS * (LARGE - SMALL));
    const large = await measure('l');

    const table = [small, large].map((row) => ({
      'peers elsewhere': row.peersElsewhere,
      'bytes to Redis': row.up,
      'bytes from Redis': row.down,
      'heap after GC (KiB)': Math.round(row.heapUsed / 1024),
      'RSS (MiB)': Math.round(row.rss / 2 ** 20),
    }));
    console.info(`observed instance, ${WINDOW_MS / 1000} s windows, ${ROUNDS * LOCAL_PEERS} frames to other instances each:`);
    console.table(table);
    console.info(
      `Redis: ${Math.round(redisPerPeer)} bytes of used_memory per peer (${OTHERS * (LARGE - SMALL)} claims in ${growMs} ms through the backend)`,
    );

    expect(large.peersElsewhere).toBeGreaterThanOrEqual(OTHERS * LARGE);
    // The same within 15 % (or 2 KiB: the replies are small, and one lookup more or less is noise).
    for (const direction of ['up', 'down'] as const) {
      expect(Math.abs(large[direction] - small[direction])).toBeLessThan(Math.max(0.15 * small[direction], 2048));
    }
    // None of the others' joins and leaves reaches it: broadcast, each would bring at least 20 bytes (channel and id).
    expect(large.down).toBeLessThan(large.churned * 2 * 20);
    // A directory of 30,000 ids would take more than 2 MiB of heap (at least 70 bytes each); the routes cache holds 6 more.
    expect(Math.abs(large.heapUsed - small.heapUsed)).toBeLessThan(512 * 1024);
  }, 120_000);
});
