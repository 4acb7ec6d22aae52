// In cluster mode the metrics add the Redis state: up while Redis answers, 0 once it is gone; live instances and cluster peers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import { closeAll, connectPeer, type TestClient } from '../support/peer-client.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis-server.js';

const skip = skipWithoutRedis('the cluster metrics tests');

describe.skipIf(skip)('cluster metrics', () => {
  let redis: RedisServer | undefined;
  const servers: SignalServer[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await closeAll(clients.splice(0));
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await redis?.stop();
  });

  async function instance(): Promise<SignalServer> {
    const config = { metrics: true, redisUrl: redis!.url, redisPrefix: 'metrics-test:', clusterLeaseMs: 1000 };
    const server = createSignalServer({ host: '127.0.0.1', port: 0, ...config });
    servers.push(server);
    await server.listen();
    return server;
  }

  /** The value of an unlabelled sample in `server`'s exposition. */
  async function sample(server: SignalServer, name: string): Promise<number | undefined> {
    const text = await (await fetch(`http://127.0.0.1:${server.address()!.port}/metrics`)).text();
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(name.length + 1));
  }

  it('reports up, instances and peers, and up 0 once Redis is gone', async () => {
    const first = await instance();
    const second = await instance();
    clients.push(await connectPeer(first, 'alice'), await connectPeer(second, 'bob'));
    await expect.poll(() => sample(first, 'peer_signal_cluster_instances'), { timeout: 10_000 }).toBe(2);
    expect(await sample(first, 'peer_signal_cluster_up')).toBe(1);
    await expect.poll(() => sample(first, 'peer_signal_cluster_peers'), { timeout: 10_000 }).toBe(2);
    expect(await sample(first, 'peer_signal_peers_connected')).toBe(1);

    await redis!.kill();
    await expect.poll(() => sample(first, 'peer_signal_cluster_up'), { timeout: 10_000 }).toBe(0);
  });
});
