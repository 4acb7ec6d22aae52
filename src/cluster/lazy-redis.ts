// The Redis backend behind a dynamic import, so a single instance never loads ioredis (tsup puts it in a lazy chunk).
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ClusterBackend } from './backend.js';

/**
 * The Redis backend, loaded only in cluster mode: ioredis is most of the bundle, and a single
 * instance should not pay for parsing it at start-up. start() loads it; every other call goes to it.
 * Before start(), claim() throws, listIds() rejects, and the rest answer as an instance with no cluster peers yet.
 */
export function createLazyRedisBackend(config: Readonly<Config>, logger: Logger): ClusterBackend {
  let backend: ClusterBackend | undefined;
  const loaded = (): ClusterBackend => {
    if (backend === undefined) throw new Error('cluster backend used before start()');
    return backend;
  };
  return {
    async start(hooks) {
      // Keep this a dynamic import: a static one would put ioredis in the main chunk.
      const { createRedisBackend } = await import('./redis.js');
      backend = createRedisBackend({
        urls: config.redisUrl!.split(',').map((url) => url.trim()),
        cluster: config.redisCluster,
        prefix: config.redisPrefix,
        leaseMs: config.clusterLeaseMs,
        waitMs: config.expireTimeoutMs,
        optional: config.redisOptional,
        logger,
      });
      await backend.start(hooks);
    },
    claim: (id, token) => loaded().claim(id, token),
    release: (id) => backend?.release(id),
    forward: (delivery, onAbsent) => backend?.forward(delivery, onAbsent) ?? false,
    listIds: async (cursor, limit) => loaded().listIds(cursor, limit),
    status: (localPeers) =>
      backend?.status(localPeers) ?? { state: 'degraded', peers: localPeers, instances: 1, connection: 'connecting' },
    close: () => backend?.close() ?? Promise.resolve(),
  };
}
