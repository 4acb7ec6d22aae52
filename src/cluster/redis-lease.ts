// Instance leases in Redis (an instance counts as alive while its lease runs) and the reaping of dead instances' ids.
import type { Cluster, Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.js';
import type { Renewal, Scripts } from './redis-scripts.js';

/** Ids freed per SPOP while reaping, and batches per reap call, so one reap never holds a tick for long. */
const REAP_BATCH = 1000;
const REAP_BATCHES = 20;

/** Leases on `commands`, with the lease length `leaseMs`. */
export function createLease(commands: Redis | Cluster, keys: RedisKeys, scripts: Scripts, leaseMs: number) {
  return {
    /** How often to renew: three times per lease, so one late renewal does not let the lease run out. */
    intervalMs: Math.max(50, Math.floor(leaseMs / 3)),

    /**
     * Renews `instance`'s lease and records its `peers`; tells whether the lease had lapsed, how many
     * instances are alive and hold how many peers, and which dead ones still hold ids. One round
     * trip whatever the size of the cluster.
     */
    renew(instance: string, peers: number): Promise<Renewal> {
      return scripts.renew(instance, leaseMs, peers);
    },

    /**
     * Frees the ids of `other`, whose lease ran out (it never comes back under that name: an instance
     * whose lease lapsed rejoins under a new one), then forgets it. Several instances may reap the
     * same one at once: SPOP hands each id to one of them. Resolves to how many owner records it
     * deleted; a large instance is finished by later calls.
     */
    async reap(other: string): Promise<number> {
      let freed = 0;
      for (let batch = 0; batch < REAP_BATCHES; batch++) {
        const ids = (await commands.spop(keys.ids(other), REAP_BATCH)) as string[];
        if (ids.length === 0) {
          await scripts.bury(other);
          break;
        }
        const deleted = await Promise.all(ids.map((id) => scripts.release(id, other)));
        freed += deleted.filter(Boolean).length;
      }
      return freed;
    },

    /** Leaves at once instead of waiting for the lease to run out: our ids are free for other instances now, then reaped. */
    async end(instance: string): Promise<void> {
      await scripts.expire(instance);
    },
  };
}

export type Lease = ReturnType<typeof createLease>;
