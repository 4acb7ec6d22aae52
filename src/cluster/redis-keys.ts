// The names of the cluster's Redis keys and channels, in one place (docs/cluster.md, "Key layout").

/**
 * Every key and channel name under `prefix`. Each name carries a hash tag (the part in braces) so
 * that the keys one script touches sit in one Redis Cluster slot: an id's keys share the tag
 * `{<id>}`, an instance's the tag `{<instance>}`, and the lease keys the tag `{instances}`. On a
 * single Redis the tags are only part of the name. Ids are [A-Za-z0-9 _-] and instances hex, and
 * the prefix has no braces (resolveConfig), so no name can move a tag.
 */
export function redisKeys(prefix: string) {
  return {
    prefix,
    /** String: `"<instance> <token hash>"`, the instance holding `id`. */
    owner: (id: string) => `${prefix}id:{${id}}`,
    /** Set with a TTL: instances holding messages for `id`, to be told when it connects. */
    waiting: (id: string) => `${prefix}wait:{${id}}`,
    /** Sorted set: instance → end of its lease, in Redis server ms. */
    instances: `${prefix}instances:{instances}`,
    /** Hash: instance → peers connected there at its last renewal (same slot as `instances`). */
    counts: `${prefix}counts:{instances}`,
    /** Set: the ids `instance` holds, for listing and for freeing them when it dies. */
    ids: (instance: string) => `${prefix}ids:{${instance}}`,
    /** Sharded channel: deliveries and notices for `instance` (redis-messages.ts). */
    inbox: (instance: string) => `${prefix}to:{${instance}}`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
