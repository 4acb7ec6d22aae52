// Races in the Redis backend's routes, made wide on purpose: a TCP proxy in front of a real redis-server spaces the
// backend's writes 5 ms apart, so that a claim and a lookup sent a tick apart answer in a known order.
import { randomBytes } from 'node:crypto';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterBackend, ClusterHooks, RemoteDelivery } from '../../src/cluster/backend.js';
import { createRedisBackend } from '../../src/cluster/redis.js';
import { silentLogger } from '../../src/logger.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis-server.js';

/** Forwards to `port`, writing each chunk from the client at least `spacingMs` after the previous one. */
async function startSpacingProxy(port: number, spacingMs: number): Promise<{ url: string; close(): Promise<void> }> {
  let last = 0;
  const sockets = new Set<Socket>();
  const server: Server = createNetServer((client) => {
    const upstream = netConnect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk: Buffer) => {
      const at = Math.max(Date.now(), last) + spacingMs;
      last = at;
      setTimeout(() => upstream.write(chunk), at - Date.now());
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const HOOKS: ClusterHooks = { deliver: () => false, kick: () => {}, joined: () => {}, count: () => 0, localPeers: () => [], lost: () => {} };

const skip = skipWithoutRedis('the route race tests');

describe.skipIf(skip)('routes under races (one redis-server behind a slow proxy)', () => {
  let redis: RedisServer | undefined;
  let proxy: Awaited<ReturnType<typeof startSpacingProxy>> | undefined;
  let backend: ClusterBackend | undefined;

  afterEach(async () => {
    await backend?.close();
    await proxy?.close();
    await redis?.stop();
  });

  it('a frame sent to an id while it connects here (the claim answers before the lookup) is handed back, not lost', async () => {
    redis = await startRedis();
    proxy = await startSpacingProxy(redis.port, 5);
    backend = createRedisBackend({
      urls: [proxy.url],
      cluster: false,
      prefix: `races-${randomBytes(4).toString('hex')}:`,
      leaseMs: 5000,
      waitMs: 10_000,
      optional: false,
      logger: silentLogger,
    });
    await backend.start(HOOKS);
    const handedBack: string[] = [];
    const frame = (dst: string, text: string): RemoteDelivery => ({ dst, src: 'alice', frame: text, queueable: true });

    const claim = backend.claim('dave', 'token');
    // A tick later, alice sends to dave, who is not registered here yet: a lookup, sent after the claim.
    const forwarded = await new Promise<boolean>((resolve) =>
      setImmediate(() => resolve(backend!.forward(frame('dave', 'F1'), (back) => handedBack.push(back.frame)))),
    );
    expect(forwarded).toBe(true);
    expect(await claim).toEqual({ outcome: 'claimed' });
    // Handed back when the claim settled (the relay then queues it, and dave's registration flushes the queue).
    expect(handedBack).toEqual(['F1']);
  });
});
