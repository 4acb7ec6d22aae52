// Races in the Redis backend's routes, made wide on purpose: a TCP proxy in front of a real redis-server spaces the
// backend's writes 5 ms apart, so that a claim and a lookup sent a tick apart answer in a known order.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterBackend, ClusterHooks, RemoteDelivery } from '../../src/cluster/backend.js';
import { createRedisBackend } from '../../src/cluster/redis.js';
import { silentLogger } from '../../src/logger.js';
import { startRedisProxy, type RedisProxy } from '../support/redis-proxy.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis-server.js';

const HOOKS: ClusterHooks = { deliver: () => false, kick: () => {}, joined: () => {}, count: () => 0, localPeers: () => [], lost: () => {} };

const skip = skipWithoutRedis('the route race tests');

describe.skipIf(skip)('routes under races (one redis-server behind a slow proxy)', () => {
  let redis: RedisServer | undefined;
  let proxy: RedisProxy | undefined;
  let backend: ClusterBackend | undefined;

  afterEach(async () => {
    await backend?.close();
    await proxy?.close();
    await redis?.stop();
  });

  it('a frame sent to an id while it connects here (the claim answers before the lookup) is handed back, not lost', async () => {
    redis = await startRedis();
    proxy = await startRedisProxy(redis.port, { spacingMs: 5 });
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
