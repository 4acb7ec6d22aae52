// Redis Cluster failover: a master killed with -9 (its replica promoted) while two instances relay; nothing is lost and both carry on.
import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import type { Config } from '../../src/config.js';
import { closeAll, connectPeer, connectRaw, nextMany, socketUrl, type TestClient } from '../support/peer-client.js';
import { redisClusterMissing, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { requires } from '../support/prerequisites.js';

/** A short node timeout makes the failover take about 2–3 s instead of the default 15 s. */
const NODE_TIMEOUT_MS = 1000;
/** Longer than a failover, so that no live instance looks dead while the lease keys' master is away. */
const LEASE_MS = 5000;
/** Frames sent during the failover wait here at most this long; they must arrive well before. */
const EXPIRE_MS = 20_000;
const RECOVER_MS = 20_000;
const ID_TAKEN = { type: 'ID-TAKEN', payload: { msg: 'ID is taken' } };

// redisClusterMissing covers redis-server too.
const redisCluster = requires('the Redis Cluster failover tests', redisClusterMissing);

redisCluster.describe('Redis Cluster failover (three masters, one replica each)', () => {
  let cluster: RedisCluster | undefined;
  const servers: SignalServer[] = [];
  const clients: TestClient[] = [];
  const prefix = `failover-${randomBytes(4).toString('hex')}:`;

  afterEach(async () => {
    await closeAll(clients.splice(0));
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await cluster?.stop();
    cluster = undefined;
  });

  async function instance(config: Partial<Config> = {}): Promise<SignalServer> {
    const server = createSignalServer({
      host: '127.0.0.1',
      port: 0,
      redisUrl: cluster!.url,
      redisCluster: true,
      redisPrefix: prefix,
      clusterLeaseMs: LEASE_MS,
      expireTimeoutMs: EXPIRE_MS,
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

  async function holderOf(id: string): Promise<string> {
    const connection = new Cluster(cluster!.url.split(','), { lazyConnect: true });
    try {
      await connection.connect();
      const record = await connection.get(`${prefix}id:{${id}}`);
      expect(record).toMatch(/^[0-9a-f]{12} \S+$/);
      return record!.split(' ')[0]!;
    } finally {
      connection.disconnect();
    }
  }

  async function health(server: SignalServer): Promise<Record<string, unknown>> {
    const response = await fetch(`http://127.0.0.1:${server.address()!.port}/health`);
    return (await response.json()) as Record<string, unknown>;
  }

  const indices = (messages: Array<{ payload?: unknown }>): number[] => messages.map((message) => (message.payload as { i: number }).i);

  it.each([
    ['the inbox of the destination instance', (bInstance: string) => `${prefix}to:{${bInstance}}`],
    ['the lease keys', () => `${prefix}instances:{instances}`],
  ])(
    'the master holding %s is killed with -9: its replica takes over, frames sent meanwhile arrive in order, and ids stay unique',
    async (_, keyOf) => {
      cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: NODE_TIMEOUT_MS });
      const a = await instance();
      const b = await instance();
      const alice = await peer(a, 'alice', 'alice-token');
      const bob = await peer(b, 'bob');
      alice.send({ type: 'OFFER', dst: 'bob', payload: { i: -1 } });
      expect(await bob.next()).toMatchObject({ payload: { i: -1 } });

      const key = keyOf(await holderOf('bob'));
      const killedAt = Date.now();
      const killed = await cluster.killMasterOf(key);
      // During the failover: these wait on a (their first publishes fail) and follow once b listens again.
      for (let i = 0; i < 20; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { i } });
      const promoted = await cluster.failedOver(key, killed);
      const failedOverMs = Date.now() - killedAt;
      const received = await nextMany(bob, 20, RECOVER_MS);
      const deliveredMs = Date.now() - killedAt;
      console.info(
        `Redis Cluster: master ${killed} (holding ${key}) killed; replica ${promoted} serving after ${failedOverMs} ms; ` +
          `the 20 frames sent meanwhile delivered after ${deliveredMs} ms`,
      );
      expect(indices(received)).toEqual([...Array(20).keys()]);
      expect(alice.pending).toEqual([]);

      // Both directions and new claims work; an id is still unique across the instances.
      bob.send({ type: 'ANSWER', dst: 'alice', payload: { i: 100 } });
      expect(await alice.next(RECOVER_MS)).toMatchObject({ src: 'bob', payload: { i: 100 } });
      const carol = await peer(b, 'carol');
      alice.send({ type: 'OFFER', dst: 'carol', payload: { i: 200 } });
      expect(await carol.next(RECOVER_MS)).toMatchObject({ payload: { i: 200 } });
      const intruder = connectRaw(socketUrl(b, { key: 'peerjs', id: 'alice', token: 'other' }));
      clients.push(intruder);
      expect(await intruder.next()).toEqual(ID_TAKEN);
      for (const server of [a, b]) {
        await expect
          .poll(() => health(server), { timeout: RECOVER_MS })
          .toMatchObject({ status: 'ok', cluster: { instances: 2, redis: 'connected' } });
      }
    },
    60_000,
  );
});
