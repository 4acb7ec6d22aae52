// This instance's lease in Redis (it counts as alive while the key exists) and the reaping of instances whose lease ran out.
import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.js';
import type { Scripts } from './redis-scripts.js';

/** The lease of `instance`, kept on `commands`; an instance whose lease key expired is dead. */
export function createLease(commands: Redis, keys: RedisKeys, scripts: Scripts, instance: string, leaseMs: number) {
  async function renew(): Promise<void> {
    await commands.set(keys.lease(instance), String(Date.now()), 'PX', leaseMs);
    await commands.sadd(keys.instances, instance);
  }

  return {
    /** How often to call renewAndReap: three times per lease, so one late renewal does not let the lease run out. */
    intervalMs: Math.max(50, Math.floor(leaseMs / 3)),

    /** Marks this instance alive for another lease. */
    renew,

    /**
     * Renews our lease, then frees the ids of every other instance whose lease ran out, calling
     * `onReaped` for each at once. Resolves to the number of live instances, this one included.
     */
    async renewAndReap(onReaped: (other: string, ids: number) => void): Promise<number> {
      await renew();
      let alive = 1;
      for (const other of await commands.smembers(keys.instances)) {
        if (other === instance) continue;
        const reaped = await scripts.reap(other);
        if (reaped === 'alive') alive++;
        else onReaped(other, reaped);
      }
      return alive;
    },

    /** Leaves at once instead of waiting for the lease to run out: our ids are free for other instances now. */
    async end(): Promise<void> {
      await commands.del(keys.lease(instance));
      await scripts.reap(instance);
    },
  };
}
