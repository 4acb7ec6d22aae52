// The Redis backend: the connections, the directory of who holds which id, resync after an outage, and the ClusterBackend calls.
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import type { ClaimResult, ClusterBackend, ClusterHooks, ClusterStatus } from './backend.js';
import { createLease } from './redis-lease.js';
import { decodeEvent, decodeInbox, encodeDelivery } from './redis-messages.js';
import { redisKeys } from './redis-keys.js';
import { createScripts } from './redis-scripts.js';

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

/** The Redis backend of one instance, with a new random instance id; nothing connects before start(). */
export function createRedisBackend(options: RedisBackendOptions): ClusterBackend {
  const { logger } = options;
  const instance = randomBytes(6).toString('hex');
  const keys = redisKeys(options.prefix);
  const inbox = keys.inbox(instance);
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
  const scripts = createScripts(commands, keys, instance);
  const lease = createLease(commands, keys, scripts, instance, options.leaseMs);
  const isUp = (): boolean => commands.status === 'ready' && subscriber.status === 'ready';
  /** The last connection error, for a start-up failure message more useful than "Connection is closed". */
  let lastError = '';
  for (const connection of [commands, subscriber]) {
    // Without a listener an 'error' event would crash the process; a lost connection is logged once, by markDegraded.
    connection.on('error', (error: Error) => {
      lastError = error.message;
      logger.debug('redis error', { reason: error.message });
    });
    connection.on('close', markDegraded);
    connection.on('ready', onConnectionReady);
  }
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === inbox) handleInbox(message);
    else if (channel === keys.events) handleEvent(message);
  });

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

  function handleInbox(message: string): void {
    const decoded = decodeInbox(message);
    if (decoded?.type === 'kick') hooks?.kick(decoded.id);
    else if (decoded?.type === 'deliver') hooks?.deliver(decoded.delivery);
  }

  function handleEvent(message: string): void {
    const event = decodeEvent(message);
    if (closed || event === undefined) return;
    if (event.type === 'joined' && event.instance !== instance) {
      directory.set(event.id, event.instance);
      hooks?.joined(event.id);
    } else if (event.type === 'left' && directory.get(event.id) === event.instance) {
      directory.delete(event.id);
    } else if (event.type === 'gone') {
      // Another instance declared us dead (we were cut off longer than the lease): register again.
      if (event.instance === instance) void resync();
      else forgetInstance(event.instance);
    }
  }

  function forgetInstance(gone: string): void {
    for (const [id, owner] of directory) if (owner === gone) directory.delete(id);
  }

  async function leaseTick(): Promise<void> {
    if (!isUp()) return;
    try {
      liveInstances = await lease.renewAndReap((other, ids) => {
        forgetInstance(other);
        logger.warn('cluster instance gone: its ids are free', { instance: other, ids });
      });
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
        await subscriber.subscribe(inbox, keys.events);
        await lease.renew();
        const local = [...(hooks?.localPeers() ?? [])];
        const localIds = new Set(local.map((peer) => peer.id));
        const results = await Promise.all(local.map((peer) => scripts.claim(peer.id, peer.token, false)));
        results.forEach((result, index) => {
          if (result.outcome === 'taken') hooks?.lost(local[index]!.id);
        });
        const ours = await commands.smembers(keys.ids(instance));
        await Promise.all(ours.filter((id) => !localIds.has(id)).map((id) => scripts.release(id)));
        const all = await commands.hgetall(keys.peers);
        directory.clear();
        for (const [id, value] of Object.entries(all)) {
          // "<instance> <token hash>" (redis-keys.ts)
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
      }, lease.intervalMs);
      leaseTimer.unref();
      logger.info('cluster mode on', { instance, redis: redactRedisUrl(options.url), degraded });
    },

    claim(id, token): ClaimResult | Promise<ClaimResult> {
      // A resync snapshots the local peers: a claim that arrives meanwhile waits for it, then claims for real.
      if (resyncing !== undefined) return resyncing.then(() => this.claim(id, token));
      // Without Redis we cannot check the cluster: serve locally now and register on reconnect.
      if (degraded || !isUp()) return { outcome: 'claimed' };
      return scripts.claim(id, token).then(
        (result) => {
          if (result.outcome !== 'taken') directory.delete(id);
          return result;
        },
        (): ClaimResult => {
          // Serve the peer, but remember that Redis does not know it: the next resync registers it.
          markDegraded();
          return { outcome: 'claimed' };
        },
      );
    },

    release(id) {
      if (!isUp()) return; // the next resync drops it from Redis
      scripts.release(id).catch(() => {});
    },

    forward(delivery, onAbsent) {
      const owner = directory.get(delivery.dst);
      if (owner === undefined || !isUp()) return false;
      commands.publish(keys.inbox(owner), encodeDelivery(delivery)).then(
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
          await lease.end();
        } catch {
          // Redis went away during shutdown; the lease frees our ids anyway.
        }
      }
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
