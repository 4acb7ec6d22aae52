// The Lua scripts that change who holds an id atomically (claim, release, reap), and typed functions that run them.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ClaimResult } from './backend.js';
import type { RedisKeys } from './redis-keys.js';

/**
 * Claims `id` for this instance. Free ids, ids of dead instances (no lease key) and ids of this
 * instance are taken; the same token on a live instance is a take-over (that instance is told to drop
 * its socket), unless ARGV[5] is "1" (re-registering after an outage: whoever holds the id in Redis
 * keeps it); another token on a live instance is "taken". Publishes the join in the same step.
 * Returns "taken", or "claimed " followed by the instance taken over from (empty if none).
 * KEYS: peers hash. ARGV: id, instance, token hash, prefix, no-take-over flag.
 */
const CLAIM_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local from = ''
if cur then
  local sp = string.find(cur, ' ', 1, true)
  local inst = string.sub(cur, 1, sp - 1)
  if inst ~= ARGV[2] then
    if redis.call('EXISTS', ARGV[4] .. 'instance:' .. inst) == 1 then
      if string.sub(cur, sp + 1) ~= ARGV[3] or ARGV[5] == '1' then return 'taken' end
      from = inst
      redis.call('PUBLISH', ARGV[4] .. 'to:' .. inst, 'K' .. ARGV[1])
    end
    redis.call('SREM', ARGV[4] .. 'ids:' .. inst, ARGV[1])
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
redis.call('SADD', ARGV[4] .. 'ids:' .. ARGV[2], ARGV[1])
redis.call('PUBLISH', ARGV[4] .. 'events', 'J ' .. ARGV[2] .. ' ' .. ARGV[1])
return 'claimed ' .. from
`;

/** Frees `id` if this instance still owns it. KEYS: peers hash. ARGV: id, instance, prefix. */
const RELEASE_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and string.sub(cur, 1, #ARGV[2] + 1) == ARGV[2] .. ' ' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', ARGV[3] .. 'ids:' .. ARGV[2], ARGV[1])
  redis.call('PUBLISH', ARGV[3] .. 'events', 'L ' .. ARGV[2] .. ' ' .. ARGV[1])
  return 1
end
return 0
`;

/**
 * Frees every id of an instance whose lease ran out, and publishes its end; returns how many ids
 * it held, or -1 if its lease is still there. KEYS: peers hash. ARGV: instance, prefix.
 */
const REAP_SCRIPT = `
if redis.call('EXISTS', ARGV[2] .. 'instance:' .. ARGV[1]) == 1 then return -1 end
local ids = redis.call('SMEMBERS', ARGV[2] .. 'ids:' .. ARGV[1])
for _, id in ipairs(ids) do
  local cur = redis.call('HGET', KEYS[1], id)
  if cur and string.sub(cur, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then redis.call('HDEL', KEYS[1], id) end
end
redis.call('DEL', ARGV[2] .. 'ids:' .. ARGV[1])
redis.call('SREM', ARGV[2] .. 'instances', ARGV[1])
redis.call('PUBLISH', ARGV[2] .. 'events', 'X ' .. ARGV[1])
return #ids
`;

/** Tokens are secrets: Redis only ever sees a hash, which is all a same-token comparison needs. */
function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}

/** The scripts, run on `commands` on behalf of `instance`. Each call is one `EVAL`. */
export function createScripts(commands: Redis, keys: RedisKeys, instance: string) {
  return {
    /**
     * Claims `id` across the cluster. With `takeOver` false (re-registering after an outage) the
     * same token on another live instance is `taken` too: whoever holds the id in Redis keeps it.
     */
    async claim(id: string, token: string, takeOver = true): Promise<ClaimResult> {
      const result = String(
        await commands.eval(CLAIM_SCRIPT, 1, keys.peers, id, instance, hashToken(token), keys.prefix, takeOver ? '0' : '1'),
      );
      if (result === 'taken') return { outcome: 'taken' };
      return result === 'claimed ' ? { outcome: 'claimed' } : { outcome: 'took-over' };
    },

    /** Frees `id`, unless another instance owns it now (a take-over there must not be undone). */
    async release(id: string): Promise<void> {
      await commands.eval(RELEASE_SCRIPT, 1, keys.peers, id, instance, keys.prefix);
    },

    /** Frees the ids of `other` if its lease ran out: how many it held, or `alive` if the lease is still there. */
    async reap(other: string): Promise<number | 'alive'> {
      const freed = (await commands.eval(REAP_SCRIPT, 1, keys.peers, other, keys.prefix)) as number;
      return freed === -1 ? 'alive' : freed;
    },
  };
}

export type Scripts = ReturnType<typeof createScripts>;
