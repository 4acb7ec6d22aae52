// The Lua scripts that change who holds an id or which instances are alive, each on keys of one slot, and typed functions that run them.
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.js';

/** The Redis server's clock in ms: leases are compared on the clock of the node that holds them, never an instance's. */
const NOW = `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/**
 * Takes `id` for ARGV[1] when it is free, already ours, or still exactly ARGV[3] (the owner record
 * the caller saw and judged replaceable: a dead instance's, or a take-over). Otherwise returns
 * {0, record}: the caller decides from the owner's lease and tries again with that record. On
 * success returns {1, previous record or '', instances waiting for the id}, and forgets the waiters.
 * KEYS: owner, waiting (one slot: `{id}`). ARGV: instance, token hash, expected record.
 */
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[3] and string.sub(cur, 1, #ARGV[1] + 1) ~= ARGV[1] .. ' ' then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2])
local waiting = redis.call('SMEMBERS', KEYS[2])
if #waiting > 0 then redis.call('DEL', KEYS[2]) end
return {1, cur or '', waiting}
`;

/** Deletes the owner record if ARGV[1] still holds the id; 1 if it did. KEYS: owner. */
const RELEASE = `
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/**
 * The instance holding `id`, unless it is ARGV[3] (an instance the caller found deaf). Without one,
 * adds ARGV[1] to the id's waiting set (for ARGV[2] ms) in the same step, so a claim that comes
 * after this either finds the waiter or came before and was found here: a join is never missed.
 * Returns the owner, or '' when the caller now waits. KEYS: owner, waiting (one slot: `{id}`).
 */
const ROUTE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local owner = string.sub(cur, 1, string.find(cur, ' ', 1, true) - 1)
  if owner ~= ARGV[3] then return owner end
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return ''
`;

/**
 * Renews ARGV[1]'s lease for ARGV[2] ms and records its peer count ARGV[3]. Returns {lapsed (1 when
 * the lease had run out or never existed), live instances, peers on live instances, up to 8 dead
 * instances still listed}. Reads every live instance's count: O(instances) inside Redis, a constant
 * reply. KEYS: instances, counts (one slot: `{instances}`).
 */
const RENEW = `${NOW}
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local peers = 0
for _, instance in ipairs(live) do peers = peers + (tonumber(redis.call('HGET', KEYS[2], instance)) or 0) end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 8)
local lapsed = 0
if not previous or tonumber(previous) <= now then lapsed = 1 end
return {lapsed, #live, peers, dead}
`;

/** 1 while ARGV[1]'s lease runs. KEYS: instances. */
const ALIVE = `${NOW}
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
if deadline and tonumber(deadline) > now then return 1 end
return 0
`;

/** The instances whose lease runs. KEYS: instances. */
const LIVE = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`;

/** Ends ARGV[1]'s lease now: it counts as dead, and a reaper frees its ids. KEYS: instances, counts. */
const EXPIRE = `
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`;

/** Forgets a dead instance once its ids are freed; 0 (and nothing changed) if its lease runs again. KEYS: instances, counts. */
const BURY = `${NOW}
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
if deadline and tonumber(deadline) > now then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`;

const SCRIPTS = {
  psClaim: { numberOfKeys: 2, lua: CLAIM },
  psRelease: { numberOfKeys: 1, lua: RELEASE },
  psRoute: { numberOfKeys: 2, lua: ROUTE },
  psRenew: { numberOfKeys: 2, lua: RENEW },
  psAlive: { numberOfKeys: 1, lua: ALIVE },
  psLive: { numberOfKeys: 1, lua: LIVE },
  psExpire: { numberOfKeys: 2, lua: EXPIRE },
  psBury: { numberOfKeys: 2, lua: BURY },
} as const;

type Run = (...args: Array<string | number>) => Promise<unknown>;

/** Tokens are secrets: Redis only ever sees a hash, which is all a same-token comparison needs. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}

/** The instance in an owner record `"<instance> <token hash>"`. */
export function ownerOf(record: string): string {
  return record.slice(0, record.indexOf(' '));
}

/** What a renewal found. */
export interface Renewal {
  /** Our lease had run out (or never existed): others may have freed our ids. */
  lapsed: boolean;
  instances: number;
  peers: number;
  /** Instances whose lease ran out and that still hold ids. */
  dead: string[];
}

/**
 * The scripts on `commands` (a Redis or a Cluster). Each call is one EVALSHA (EVAL the first
 * time), pipelined with whatever else is sent in the same tick.
 */
export function createScripts(commands: Redis | Cluster, keys: RedisKeys) {
  for (const [name, definition] of Object.entries(SCRIPTS)) commands.defineCommand(name, definition);
  const run = commands as unknown as Record<keyof typeof SCRIPTS, Run>;

  return {
    /**
     * One claim attempt for `instance`: `{ done: true, previous, waiting }` when the id is ours now,
     * or `{ done: false, current }` with the record that stands in the way.
     */
    async claim(
      id: string,
      instance: string,
      tokenHash: string,
      expected: string,
    ): Promise<{ done: true; previous: string; waiting: string[] } | { done: false; current: string }> {
      const [done, record, waiting] = (await run.psClaim(keys.owner(id), keys.waiting(id), instance, tokenHash, expected)) as [
        number,
        string,
        string[]?,
      ];
      return done === 1 ? { done: true, previous: record, waiting: waiting ?? [] } : { done: false, current: record };
    },

    /** Deletes the owner record of `id` if `instance` still holds it (a take-over elsewhere must not be undone). */
    async release(id: string, instance: string): Promise<boolean> {
      return (await run.psRelease(keys.owner(id), instance)) === 1;
    },

    /** The instance holding `id` (unless it is `ignore`), or '' after registering `instance` as waiting for it. */
    async route(id: string, instance: string, waitMs: number, ignore = ''): Promise<string> {
      return String(await run.psRoute(keys.owner(id), keys.waiting(id), instance, waitMs, ignore));
    },

    async renew(instance: string, leaseMs: number, peers: number): Promise<Renewal> {
      const [lapsed, instances, total, dead] = (await run.psRenew(keys.instances, keys.counts, instance, leaseMs, peers)) as [
        number,
        number,
        number,
        string[],
      ];
      return { lapsed: lapsed === 1, instances, peers: total, dead };
    },

    async alive(instance: string): Promise<boolean> {
      return (await run.psAlive(keys.instances, instance)) === 1;
    },

    async live(): Promise<string[]> {
      return (await run.psLive(keys.instances)) as string[];
    },

    async expire(instance: string): Promise<void> {
      await run.psExpire(keys.instances, keys.counts, instance);
    },

    async bury(instance: string): Promise<boolean> {
      return (await run.psBury(keys.instances, keys.counts, instance)) === 1;
    },
  };
}

export type Scripts = ReturnType<typeof createScripts>;
