// The names of the cluster's Redis keys and channels, in one place (docs/cluster.md, "Key layout").

/**
 * Every key and channel name under `prefix`. The Lua scripts (redis-scripts.ts) build the
 * per-instance names themselves (`instance:`, `ids:`, `to:`, `events`), since they only learn an
 * id's owner inside the script: change a name here and there together.
 */
export function redisKeys(prefix: string) {
  return {
    prefix,
    /** Hash: id → `"<instance> <token hash>"` for every connected peer of the cluster. */
    peers: `${prefix}peers`,
    /** Set: instance ids that may still hold ids. */
    instances: `${prefix}instances`,
    /** Channel: `J`/`L`/`X` events (redis-messages.ts), for every instance. */
    events: `${prefix}events`,
    /** String with a `PX` lease: present while `instance` is alive. */
    lease: (instance: string) => `${prefix}instance:${instance}`,
    /** Set: the ids `instance` holds, so a dead instance's ids are freed without a scan. */
    ids: (instance: string) => `${prefix}ids:${instance}`,
    /** Channel: deliveries and kicks for `instance` (redis-messages.ts). */
    inbox: (instance: string) => `${prefix}to:${instance}`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
