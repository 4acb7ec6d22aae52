// The Redis backend: id claims by Lua script, a pub/sub directory of who holds which id, one publish per relayed message.
import { createHash, randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import type { ClaimResult, ClusterBackend, ClusterHooks, ClusterStatus, RemoteDelivery } from './backend.js';

export interface RedisBackendOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. */
  url: string;
  /** Prefix of every key and channel, so several clusters can share one Redis. */
  prefix: string;
  /** An instance that stops renewing its lease for this long is dead and its ids are freed, in ms. */
  leaseMs: number;
  /** Start alone (with a warning) when Redis is unreachable, instead of failing. */
  optional: boolean;
  logger: Logger;
}

/**
 * Claims `id` for this instance. Free ids, ids of dead instances (no lease key) and ids of this
 * instance are taken; the same token on a live instance is a take-over (that instance is told to drop
 * its socket), unless ARGV[5] is "1" (re-registering after an outage: whoever holds the id in Redis
 * keeps it); another token on a live instance is "taken". Publishes the join in the same step.
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

/** Frees every id of an instance whose lease ran out. KEYS: peers hash. ARGV: instance, prefix. */
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

/** Redis URLs carry passwords: never log them. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password || parsed.username) {
      parsed.username = '';
      parsed.password = '';
      return parsed.href.replace('//', '//***@');
    }
    return parsed.href;
  } catch {
    return 'an invalid Redis URL';
  }
}

/** Tokens are secrets: Redis only ever sees a hash, which is all a same-token comparison needs. */
function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}

export function createRedisBackend(options: RedisBackendOptions): ClusterBackend {
  const { prefix, logger } = options;
  const instance = randomBytes(6).toString('hex');
  const peersKey = `${prefix}peers`;
  const eventsChannel = `${prefix}events`;
  const inbox = `${prefix}to:${instance}`;
  /** Ids on other instances → the instance holding them (eventually consistent, kept by events). */
  const directory = new Map<string, string>();
  let hooks: ClusterHooks | undefined;
  let started = false;
  let closed = false;
  let degraded = false;
  let liveInstances = 1;
  let leaseTimer: NodeJS.Timeout | undefined;
  let resyncing: Promise<void> | undefined;

  const redisOptions: RedisOptions = {
    lazyConnect: true,
    // Commands fail at once while disconnected: nothing piles up in memory during an outage.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    // A Redis that stops answering without closing the connection must not hold claims (or queue
    // publishes) forever: commands fail after this, and TCP keepalive notices a dead peer.
    commandTimeout: 2000,
    keepAlive: 10_000,
    // Fail fast at start-up; once running, reconnect forever with capped backoff.
    retryStrategy: (attempt) => (started && !closed ? Math.min(100 * 2 ** Math.min(attempt, 5), 3000) : null),
  };
  const commands = new Redis(options.url, redisOptions);
  const subscriber = new Redis(options.url, redisOptions);
  /** The last connection error, for a start-up failure message more useful than "Connection is closed". */
  let lastError = '';
  for (const connection of [commands, subscriber]) {
    // Without a listener an 'error' event would crash the process; the state change is logged below.
    connection.on('error', (error: Error) => {
      lastError = error.message;
      logger.debug('redis error', { reason: error.message });
    });
  }
  const claimScript = (id: string, token: string, takeOver = true): Promise<unknown> =>
    commands.eval(CLAIM_SCRIPT, 1, peersKey, id, instance, hashToken(token), prefix, takeOver ? '0' : '1');
  const releaseScript = (id: string): Promise<unknown> => commands.eval(RELEASE_SCRIPT, 1, peersKey, id, instance, prefix);

  const isUp = (): boolean => commands.status === 'ready' && subscriber.status === 'ready';

  function onConnectionLost(): void {
    markDegraded();
  }

  /** Serve locally until the next resync re-registers everything; logged once per outage. */
  function markDegraded(): void {
    if (!started || closed || degraded) return;
    degraded = true;
    logger.warn('redis connection lost: serving local peers only, reconnecting', { url: redactRedisUrl(options.url) });
  }

  function onConnectionReady(): void {
    if (!started || closed || !isUp()) return;
    if (degraded) logger.info('redis connection restored: rejoining the cluster', { instance });
    void resync();
  }

  function handleEvent(message: string): void {
    if (closed) return;
    // "<kind> <instance> <id>": ids may contain single spaces, so the id is everything after the second space.
    const firstSpace = message.indexOf(' ');
    const secondSpace = message.indexOf(' ', firstSpace + 1);
    const kind = message.slice(0, firstSpace === -1 ? undefined : firstSpace);
    const from = firstSpace === -1 ? undefined : message.slice(firstSpace + 1, secondSpace === -1 ? undefined : secondSpace);
    const id = secondSpace === -1 ? undefined : message.slice(secondSpace + 1);
    if (kind === 'J' && from !== undefined && id !== undefined && from !== instance) {
      directory.set(id, from);
      hooks?.joined(id);
    } else if (kind === 'L' && id !== undefined && directory.get(id) === from) {
      directory.delete(id);
    } else if (kind === 'X' && from !== undefined) {
      if (from === instance) {
        // Another instance declared us dead (we were cut off longer than the lease): register again.
        void resync();
        return;
      }
      forgetInstance(from);
    }
  }

  function forgetInstance(dead: string): void {
    for (const [id, owner] of directory) if (owner === dead) directory.delete(id);
  }

  function handleInbox(message: string): void {
    const kind = message.charAt(0);
    if (kind === 'K') {
      hooks?.kick(message.slice(1));
      return;
    }
    const firstBreak = message.indexOf('\n');
    const secondBreak = message.indexOf('\n', firstBreak + 1);
    if (kind === '' || !'QDqd'.includes(kind) || firstBreak < 0 || secondBreak < 0) return;
    hooks?.deliver({
      queueable: kind === 'Q' || kind === 'q',
      // Lower case: already passed on once by an instance the peer had left; never forwarded again.
      forwarded: kind === 'q' || kind === 'd',
      src: message.slice(1, firstBreak),
      dst: message.slice(firstBreak + 1, secondBreak),
      frame: message.slice(secondBreak + 1),
    });
  }

  subscriber.on('message', (channel: string, message: string) => {
    if (channel === inbox) handleInbox(message);
    else if (channel === eventsChannel) handleEvent(message);
  });
  for (const connection of [commands, subscriber]) {
    connection.on('close', onConnectionLost);
    connection.on('ready', onConnectionReady);
  }

  async function renewLease(): Promise<void> {
    await commands.set(`${prefix}instance:${instance}`, String(Date.now()), 'PX', options.leaseMs);
    await commands.sadd(`${prefix}instances`, instance);
  }

  /** Renews our lease, and frees the ids of instances whose lease ran out. */
  async function leaseTick(): Promise<void> {
    if (!isUp()) return;
    try {
      await renewLease();
      const instances = await commands.smembers(`${prefix}instances`);
      let alive = 1;
      for (const other of instances) {
        if (other === instance) continue;
        const reaped = (await commands.eval(REAP_SCRIPT, 1, peersKey, other, prefix)) as number;
        if (reaped === -1) alive++;
        else {
          forgetInstance(other);
          logger.warn('cluster instance gone: its ids are free', { instance: other, ids: reaped });
        }
      }
      liveInstances = alive;
    } catch (error) {
      logger.debug('redis lease renewal failed', { reason: (error as Error).message });
      markDegraded();
    }
  }

  /** (Re)joins the cluster: lease, our peers' claims, stale claims of ours dropped, the directory reloaded. */
  function resync(): Promise<void> {
    if (closed) return Promise.resolve();
    resyncing ??= (async () => {
      try {
        // Subscribing again is harmless, and needed when the first SUBSCRIBE never reached Redis
        // (an optional start while Redis was down): ioredis only restores subscriptions that succeeded.
        await subscriber.subscribe(inbox, eventsChannel);
        await renewLease();
        const local = [...(hooks?.localPeers() ?? [])];
        const localIds = new Set(local.map((peer) => peer.id));
        const results = await Promise.all(local.map((peer) => claimScript(peer.id, peer.token, false)));
        results.forEach((result, index) => {
          if (result === 'taken') hooks?.lost(local[index]!.id);
        });
        const ours = await commands.smembers(`${prefix}ids:${instance}`);
        await Promise.all(ours.filter((id) => !localIds.has(id)).map((id) => releaseScript(id)));
        const all = await commands.hgetall(peersKey);
        directory.clear();
        for (const [id, value] of Object.entries(all)) {
          const owner = value.slice(0, value.indexOf(' '));
          if (owner !== instance) directory.set(id, owner);
        }
        degraded = false;
        for (const id of directory.keys()) hooks?.joined(id);
      } catch (error) {
        logger.debug('redis resync failed; retrying on the next lease tick', { reason: (error as Error).message });
        degraded = true;
      } finally {
        resyncing = undefined;
      }
    })();
    return resyncing;
  }

  return {
    kind: 'redis',

    async start(coreHooks) {
      hooks = coreHooks;
      try {
        await Promise.all([commands.connect(), subscriber.connect()]);
      } catch (error) {
        const reason = lastError || (error as Error).message;
        if (!options.optional) {
          closed = true;
          // disconnect() on a connection that already ended leaves a timer that delays the exit.
          for (const connection of [commands, subscriber]) if (connection.status !== 'end') connection.disconnect();
          throw new Error(`cannot reach Redis at ${redactRedisUrl(options.url)} (${reason})`, { cause: error });
        }
        logger.warn('redis unreachable: starting alone, will join the cluster when it is back', {
          url: redactRedisUrl(options.url),
          reason,
        });
        started = true;
        degraded = true;
        // ioredis retries from here on; 'ready' triggers the resync, which subscribes.
        for (const connection of [commands, subscriber]) connection.connect().catch(() => {});
      }
      if (!started) {
        started = true;
        await resync();
      }
      leaseTimer = setInterval(() => {
        if (degraded && isUp()) void resync();
        void leaseTick();
      }, Math.max(50, Math.floor(options.leaseMs / 3)));
      leaseTimer.unref();
      logger.info('cluster mode on', { instance, redis: redactRedisUrl(options.url), degraded });
    },

    claim(id, token): ClaimResult | Promise<ClaimResult> {
      // A resync snapshots the local peers: a claim that arrives meanwhile waits for it, then claims for real.
      if (resyncing !== undefined) return resyncing.then(() => this.claim(id, token));
      // Without Redis we cannot check the cluster: serve locally now and register on reconnect.
      if (degraded || !isUp()) return { outcome: 'claimed' };
      return claimScript(id, token).then(
        (result): ClaimResult => {
          if (result === 'taken') return { outcome: 'taken' };
          const from = String(result).slice('claimed '.length);
          directory.delete(id);
          return from === '' ? { outcome: 'claimed' } : { outcome: 'took-over', from };
        },
        (): ClaimResult => {
          // Serve the peer, but remember that Redis does not know it: the next resync registers it.
          markDegraded();
          return { outcome: 'claimed' };
        },
      );
    },

    release(id) {
      if (!isUp()) return; // resync drops it from Redis later
      releaseScript(id).catch(() => {});
    },

    forward(delivery: RemoteDelivery, onAbsent) {
      const owner = directory.get(delivery.dst);
      if (owner === undefined || !isUp()) return false;
      const kind = delivery.forwarded === true ? (delivery.queueable ? 'q' : 'd') : delivery.queueable ? 'Q' : 'D';
      const message = `${kind}${delivery.src}\n${delivery.dst}\n${delivery.frame}`;
      commands.publish(`${prefix}to:${owner}`, message).then(
        (receivers) => {
          if (receivers > 0) return;
          // Nobody listens on that inbox: the instance is gone. Its ids are absent until it is back.
          forgetInstance(owner);
          onAbsent(delivery);
        },
        () => onAbsent(delivery),
      );
      return true;
    },

    remoteIds() {
      return directory.keys();
    },

    isRemote(id) {
      return directory.has(id);
    },

    status(localPeers): ClusterStatus {
      return {
        state: degraded || !isUp() ? 'degraded' : 'ok',
        peers: localPeers + directory.size,
        instances: liveInstances,
        connection: commands.status === 'ready' ? 'connected' : commands.status === 'end' ? 'disconnected' : 'connecting',
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      if (leaseTimer !== undefined) clearInterval(leaseTimer);
      if (isUp()) {
        try {
          // Leave at once instead of waiting for the lease: our ids are free for other instances now.
          await commands.del(`${prefix}instance:${instance}`);
          await commands.eval(REAP_SCRIPT, 1, peersKey, instance, prefix);
        } catch {
          // Redis went away during shutdown; the lease frees our ids anyway.
        }
      }
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
