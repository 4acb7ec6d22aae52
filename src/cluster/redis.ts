// The Redis backend: connections (one Redis or a Redis Cluster), claims, routes to other instances' peers, resync after an outage, and the ClusterBackend calls.
import { randomBytes } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import {
  InvalidCursorError,
  type ClaimResult,
  type ClusterBackend,
  type ClusterHooks,
  type ClusterStatus,
  type RemoteDelivery,
} from './backend.js';
import { createLease } from './redis-lease.js';
import { decodeInbox, encodeDelivery, encodeInbox, encodeJoined, encodeKick, encodeStale, isDeliveryRecord } from './redis-messages.js';
import { redisKeys } from './redis-keys.js';
import { createScripts, hashToken, ownerOf, type Renewal } from './redis-scripts.js';

export interface RedisBackendOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS; with `cluster`, the seed nodes. */
  urls: readonly string[];
  /** The URLs are Redis Cluster nodes: per-instance channels use sharded pub/sub (Redis 7). */
  cluster: boolean;
  /** Prefix of every key and channel, so several clusters can share one Redis. */
  prefix: string;
  /** An instance that stops renewing its lease for this long is dead and its ids are freed, in ms. */
  leaseMs: number;
  /** How long a message for an absent peer waits (the expire timeout), in ms: as long, we wait to hear that it connected. */
  waitMs: number;
  /** Start alone (with a warning) when Redis is unreachable, instead of failing. */
  optional: boolean;
  logger: Logger;
  /** Most destinations whose holder is remembered between frames. Default 10,000. */
  routeCacheSize?: number;
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

const CLAIMED: ClaimResult = { outcome: 'claimed' };
const TOOK_OVER: ClaimResult = { outcome: 'took-over' };
const TAKEN: ClaimResult = { outcome: 'taken' };
/** Attempts of a claim that keeps finding the owner record changed under it (each attempt is a round trip). */
const CLAIM_ATTEMPTS = 4;
/** An inbox message is published once it holds this many characters, without waiting for the end of the tick. */
const BATCH_CHARS = 256 * 1024;
/** Most characters waiting for one instance while its previous message is in flight; frames beyond are refused. */
const MAX_WAITING_CHARS = 16 * 1024 * 1024;
/** Destinations we remember holding messages for, at most (the oldest is forgotten: its messages then simply expire). */
const MAX_WAITING = 10_000;
/** Waiting destinations looked up again per lease tick. */
const RETRY_PER_TICK = 1000;

const newInstanceId = (): string => randomBytes(6).toString('hex');
/** Whether a command failed because Redis predates sharded pub/sub (7.0). */
const isTooOld = (reason: string): boolean => /unknown command.*\bs(subscribe|publish)\b/i.test(reason);
const noop = (): void => {};

/** A frame handed to forward(), with what to do if it cannot be delivered. */
interface Entry {
  readonly delivery: RemoteDelivery;
  readonly onAbsent: (delivery: RemoteDelivery) => void;
}

/**
 * Where frames for one destination go. Frames leave in the order forward() got them: straight to
 * `owner` when it is known; into `held` while it is being looked up, or while frames already sent
 * come back undelivered (then `failed` collects those, in order, and once none is in flight the
 * failed ones and the held ones go to the local queue, in that order).
 */
interface Route {
  readonly dst: string;
  owner: string | undefined;
  /** Frames published whose receiver count has not come back yet. */
  inflight: number;
  held: Entry[] | undefined;
  failed: Entry[] | undefined;
  /** The instance whose inbox had no listener. */
  deaf: string | undefined;
  /** An owner heard of (a join notice) while a lookup was under way. */
  hint: string | undefined;
}

/** A destination we reported absent: frames for it wait here, behind the ones already waiting, until it is found. */
interface Waiting {
  since: number;
  /** The holder we found deaf, if that is why: looked up again only once its lease ran out or it listens again. */
  deaf: string | undefined;
}

/** Records for one instance, published together as one inbox message. */
interface Outgoing {
  readonly records: string[];
  readonly sent: Array<{ route: Route; entry: Entry }>;
  chars: number;
}

type Connection = Redis | Cluster;

/** One connection (commands, or subscriptions), to one Redis or to a Redis Cluster. */
function connect(options: RedisBackendOptions, role: 'commands' | 'subscriber', retrying: () => boolean): Connection {
  const backoff = (attempt: number): number | null => (retrying() ? Math.min(100 * 2 ** Math.min(attempt, 5), 3000) : null);
  const common: RedisOptions = {
    // Commands fail at once while disconnected: nothing piles up in memory during an outage.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    // A Redis that stops answering without closing the connection must not hold claims (or queue
    // publishes) forever: commands fail after this, and TCP keepalive notices a dead peer.
    commandTimeout: 2000,
    keepAlive: 10_000,
  };
  if (!options.cluster) {
    return new Redis(options.urls[0]!, {
      ...common,
      lazyConnect: true,
      // Everything sent in one tick (publishes, lookups, claims) goes out in one write.
      enableAutoPipelining: role === 'commands',
      // Fail fast at start-up; once running, reconnect forever with capped backoff.
      retryStrategy: backoff,
    });
  }
  const first = new URL(options.urls[0]!);
  const nodes = options.urls.map((url) => {
    const parsed = new URL(url);
    return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) };
  });
  const clusterOptions: ClusterOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: role === 'commands',
    // One subscriber connection per master, each subscribed to the channels of its slots, moved after a failover.
    shardedSubscribers: role === 'subscriber',
    clusterRetryStrategy: backoff,
    redisOptions: {
      ...common,
      // Nodes found through CLUSTER SLOTS get the seed's credentials and TLS.
      username: first.username ? decodeURIComponent(first.username) : undefined,
      password: first.password ? decodeURIComponent(first.password) : undefined,
      tls: first.protocol === 'rediss:' ? {} : undefined,
    },
  };
  return new Cluster(nodes, clusterOptions);
}

/** The Redis backend of one instance, with a new random instance id; nothing connects before start(). */
export function createRedisBackend(options: RedisBackendOptions): ClusterBackend {
  const { logger, waitMs } = options;
  const where = options.urls.map(redactRedisUrl).join(',');
  const routeCacheSize = options.routeCacheSize ?? 10_000;
  const keys = redisKeys(options.prefix);
  /** Our name in the cluster; replaced when our lease lapsed, so that nothing done to the old name can touch us. */
  let instance = newInstanceId();
  let inbox = keys.inbox(instance);
  /** Whether `instance` was ever registered (a lapse then means others may have freed our ids). */
  let joined = false;
  const routes = new Map<string, Route>();
  const waiting = new Map<string, Waiting>();
  const outbox = new Map<string, Outgoing>();
  /** Instances with an inbox message in flight (see queueOut). */
  const publishing = new Set<string>();
  /** (origin, id) pairs told "stale" since the last publish, so a stream of frames costs one notice per tick. */
  const staleTold = new Set<string>();
  let flushTimer: NodeJS.Immediate | undefined;
  let hooks: ClusterHooks | undefined;
  let started = false;
  let closed = false;
  let degraded = false;
  let renewal: Renewal & { own: number } = { lapsed: false, instances: 1, peers: 0, dead: [], own: 0 };
  let leaseTimer: NodeJS.Timeout | undefined;
  let resyncing: Promise<void> | undefined;
  let retrying = false;
  const reaping = new Set<string>();
  let topology = '';

  const retryConnections = (): boolean => started && !closed;
  const commands = connect(options, 'commands', retryConnections);
  const subscriber = connect(options, 'subscriber', retryConnections);
  const scripts = createScripts(commands, keys);
  const lease = createLease(commands, keys, scripts, options.leaseMs);
  const isUp = (): boolean => commands.status === 'ready' && subscriber.status === 'ready';
  const localCount = (): number => hooks?.count() ?? 0;
  /** The last connection error, for a start-up failure message more useful than "Connection is closed". */
  let lastError = '';
  /** Why the last resync failed, for the start-up check of the Redis version. */
  let lastResyncError = '';
  for (const connection of [commands, subscriber]) {
    // Without a listener an 'error' event would crash the process; a lost connection is logged once, by markDegraded.
    connection.on('error', (error: Error) => {
      lastError = error.message;
      logger.debug('redis error', { reason: error.message });
    });
    connection.on('close', () => markDegraded());
    connection.on('ready', onConnectionReady);
  }
  subscriber.on('smessage', (channel: string, message: string) => {
    if (channel === inbox) handleInbox(message);
  });

  /** Serve locally until the next resync registers everything again; logged once per outage. */
  function markDegraded(reason?: string): void {
    if (!started || closed || degraded) return;
    degraded = true;
    if (reason === undefined) logger.warn('redis connection lost: serving local peers only, reconnecting', { url: where });
    else logger.warn('redis commands failing: serving local peers only, retrying', { url: where, reason });
  }

  function onConnectionReady(): void {
    if (!started || closed || !isUp()) return;
    if (degraded) logger.info('redis connection restored: rejoining the cluster', { instance });
    void resync(false);
  }

  function mastersOf(): string {
    if (!(commands instanceof Cluster)) return '';
    return commands
      .nodes('master')
      .map((node) => `${node.options.host}:${node.options.port}`)
      .sort()
      .join(',');
  }

  // ---- the outbox: records for other instances, one inbox message per instance at a time ----
  //
  // At most one message per instance is in flight. Records written meanwhile wait and leave together
  // once its answer is back; if it failed, the deliveries among them fail too, unsent. That is what
  // keeps frames in order when a publish fails (a Redis Cluster failover, a dead instance): a later
  // message can never arrive while an earlier one goes back to the queue. Unloaded, a record leaves
  // at the end of its tick; under load messages grow instead of multiplying.

  function queueOut(target: string, record: string, sent?: { route: Route; entry: Entry }): void {
    let out = outbox.get(target);
    if (out === undefined) {
      out = { records: [], sent: [], chars: 0 };
      outbox.set(target, out);
    }
    const busy = publishing.has(target);
    if (busy && sent !== undefined && out.chars + record.length > MAX_WAITING_CHARS) {
      // Redis is slower than the frames for this instance arrive: the frame is refused (it waits here, or its
      // sender gets EXPIRE) rather than held without bound.
      settleSent([sent], false, target);
      return;
    }
    out.records.push(record);
    if (sent !== undefined) out.sent.push(sent);
    out.chars += record.length;
    if (busy) return;
    if (out.chars >= BATCH_CHARS) {
      outbox.delete(target);
      publish(target, out);
    } else {
      // setImmediate rather than a microtask: frames read from many sockets in one poll phase share one message.
      flushTimer ??= setImmediate(() => flushOutbox());
    }
  }

  /** Publishes what waits for each instance with no message in flight; for every instance when `all` (shutdown). */
  function flushOutbox(all = false): void {
    flushTimer = undefined;
    staleTold.clear();
    for (const [target, out] of outbox) {
      if (!all && publishing.has(target)) continue;
      outbox.delete(target);
      publish(target, out);
    }
  }

  /** One SPUBLISH; its receiver count says whether the instance listens (0: it is gone, or not subscribed right now). */
  function publish(target: string, out: Outgoing): void {
    const message = encodeInbox(instance, out.records.join(''));
    publishing.add(target);
    const answered = (delivered: boolean): void => {
      // Still busy while settling: what settling writes to this instance (an EXPIRE to a sender there) waits in the outbox.
      settleSent(out.sent, delivered, target);
      publishing.delete(target);
      const next = outbox.get(target);
      if (next === undefined || closed) return;
      outbox.delete(target);
      if (delivered) return publish(target, next);
      // The deliveries written meanwhile go back with the failed ones, in order; notices (kick, joined, stale) still go.
      settleSent(next.sent, false, target);
      const notices = next.records.filter((written) => !isDeliveryRecord(written));
      if (notices.length > 0) publish(target, { records: notices, sent: [], chars: 0 });
    };
    commands.spublish(keys.inbox(target), message).then(
      (receivers) => answered(Number(receivers) > 0),
      () => answered(false),
    );
  }

  // ---- routes: where frames for a destination go, in order ----

  function addRoute(dst: string, owner?: string): Route {
    if (routes.size >= routeCacheSize) {
      // Forget the oldest idle route among the first few; busy ones stay (the cache may then overshoot a little).
      let looked = 0;
      for (const [id, route] of routes) {
        if (route.inflight === 0 && route.held === undefined) {
          routes.delete(id);
          break;
        }
        if (++looked >= 16) break;
      }
    }
    const route: Route = { dst, owner, inflight: 0, held: undefined, failed: undefined, deaf: undefined, hint: undefined };
    routes.set(dst, route);
    return route;
  }

  function isWaiting(dst: string): boolean {
    const entry = waiting.get(dst);
    if (entry === undefined) return false;
    const now = performance.now();
    // Past the expire timeout every frame that waited here for it is gone: look it up afresh.
    if (now - entry.since > waitMs) {
      waiting.delete(dst);
      return false;
    }
    // The caller queues another frame now, which waits as long again.
    entry.since = now;
    return true;
  }

  function markWaiting(dst: string, deaf?: string): void {
    waiting.delete(dst);
    waiting.set(dst, { since: performance.now(), deaf });
    if (waiting.size > MAX_WAITING) waiting.delete(waiting.keys().next().value!);
  }

  function send(route: Route, entry: Entry): void {
    route.inflight++;
    queueOut(route.owner!, encodeDelivery(entry.delivery), { route, entry });
  }

  /**
   * Sends `entries` in order while the route has an owner. If one is refused on the way (the outbox cap), the rest go
   * behind it: held by the draining route, or handed back at once if the drain already ran.
   */
  function sendInOrder(route: Route, entries: Entry[]): void {
    for (let i = 0; i < entries.length; i++) {
      if (route.owner !== undefined && route.failed === undefined) {
        send(route, entries[i]!);
        continue;
      }
      const rest = entries.slice(i);
      if (route.failed !== undefined) (route.held ??= []).push(...rest);
      else for (const { delivery, onAbsent } of rest) onAbsent(delivery);
      return;
    }
  }

  /** Frames held for `route` (its lookup pending) go back now, in order: `dst` connected here (a claim), or Redis is away. */
  function handBackHeld(route: Route): void {
    const held = route.held ?? [];
    route.held = undefined;
    for (const { delivery, onAbsent } of held) onAbsent(delivery);
  }

  function lookUp(route: Route): void {
    scripts.route(route.dst, instance, waitMs).then(
      (owner) => settle(route, owner),
      () => settle(route, ''),
    );
  }

  function settle(route: Route, found: string): void {
    // Superseded (a claim here, a join notice), or draining after a failure: the drain hands the held frames on.
    if (routes.get(route.dst) !== route || route.failed !== undefined) return;
    const owner = found !== '' && found !== instance ? found : route.hint;
    route.hint = undefined;
    const held = route.held ?? [];
    route.held = undefined;
    if (owner !== undefined && owner !== instance) {
      route.owner = owner;
      sendInOrder(route, held);
      return;
    }
    // Connected nowhere (the lookup registered us as waiting), or claimed here a moment ago (its
    // registration flushes the local queue): the frames wait here.
    route.owner = undefined;
    route.held = held;
    route.failed = [];
    if (route.inflight === 0) finishDrain(route);
  }

  function settleSent(sent: Outgoing['sent'], delivered: boolean, target: string): void {
    for (const { route, entry } of sent) {
      route.inflight--;
      if (!delivered) {
        if (route.failed === undefined) {
          route.failed = [];
          route.owner = undefined;
          route.held ??= [];
        }
        route.deaf = target;
        route.failed.push(entry);
      }
      if (route.failed !== undefined && route.inflight === 0) finishDrain(route);
    }
  }

  /** Nothing is in flight for the route any more: what failed and what was held go to the local queue, in order. */
  function finishDrain(route: Route): void {
    if (routes.get(route.dst) === route) routes.delete(route.dst);
    markWaiting(route.dst, route.deaf);
    const entries = [...(route.failed ?? []), ...(route.held ?? [])];
    route.failed = undefined;
    route.held = undefined;
    for (const { delivery, onAbsent } of entries) onAbsent(delivery);
  }

  /** `id`, which we may hold messages for, is connected on `owner`: route there and hand it what waits here. */
  function joinedElsewhere(owner: string, id: string): void {
    if (owner === instance) return;
    waiting.delete(id);
    const route = routes.get(id);
    if (route === undefined) addRoute(id, owner);
    else if (route.failed === undefined && route.held !== undefined) route.hint = owner;
    else if (route.failed === undefined) route.owner = owner;
    hooks?.joined(id);
  }

  function handleInbox(message: string): void {
    const decoded = decodeInbox(message);
    if (closed || decoded === undefined) return;
    const { origin } = decoded;
    for (const record of decoded.records) {
      if (record.type === 'deliver') {
        const here = hooks?.deliver(record.delivery) ?? false;
        const told = `${origin}\n${record.delivery.dst}`;
        if (!here && !staleTold.has(told)) {
          staleTold.add(told);
          queueOut(origin, encodeStale(record.delivery.dst));
        }
      } else if (record.type === 'kick') {
        hooks?.kick(record.id);
      } else if (record.type === 'joined') {
        joinedElsewhere(record.owner, record.id);
      } else {
        // The sender does not hold the id we routed there: look it up again on the next frame.
        const route = routes.get(record.id);
        if (route === undefined || route.owner !== origin) continue;
        if (route.inflight === 0 && route.held === undefined) routes.delete(record.id);
        else route.owner = undefined;
      }
    }
  }

  /**
   * Looks up the destinations whose frames wait here: a join notice may have been missed (the
   * connection dropped, or it came before our lookup's answer), or the holder we found deaf may
   * listen again (a failover moved its channel). Bounded per tick; frames wait at most the expire timeout anyway.
   */
  async function retryWaiting(): Promise<void> {
    if (retrying || waiting.size === 0) return;
    retrying = true;
    try {
      const now = performance.now();
      const batch: Array<[string, Waiting]> = [];
      for (const [dst, entry] of waiting) {
        if (now - entry.since > waitMs) waiting.delete(dst);
        else batch.push([dst, entry]);
        if (batch.length >= RETRY_PER_TICK) break;
      }
      await Promise.all(
        batch.map(async ([dst, entry]) => {
          let owner = await scripts.route(dst, instance, waitMs);
          if (owner !== '' && owner === entry.deaf && !(await scripts.alive(owner))) {
            // Still held by the dead instance: wait to hear where it connects next.
            owner = await scripts.route(dst, instance, waitMs, owner);
          }
          if (owner === '' || owner === instance || waiting.get(dst) !== entry) return;
          joinedElsewhere(owner, dst);
        }),
      );
    } catch (error) {
      logger.debug('redis lookups of waiting destinations failed', { reason: (error as Error).message });
    } finally {
      retrying = false;
    }
  }

  // ---- claims, lease, resync ----

  /**
   * Claims `id`: one round trip when it is free or ours (the claim and the SADD to our set go out
   * together); two more when another instance holds it (its lease decides). With `takeOver` false
   * (registering again after an outage) the same token on another live instance is `taken` too.
   */
  async function claimInCluster(id: string, token: string, takeOver: boolean): Promise<ClaimResult> {
    const tokenHash = hashToken(token);
    const me = instance;
    // Optimistically, in the same round trip as the claim; taken back if the claim fails.
    const added = commands.sadd(keys.ids(me), id).then(
      () => true,
      () => false,
    );
    const giveBack = async (): Promise<ClaimResult> => {
      await added;
      await commands.srem(keys.ids(me), id);
      return TAKEN;
    };
    let expected = '';
    let liveOwner: string | undefined;
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const result = await scripts.claim(id, me, tokenHash, expected);
      if (result.done) {
        // Claimed but not listed in our set: the next resync lists it.
        if (!(await added)) markDegraded();
        for (const waiter of result.waiting) if (waiter !== me) queueOut(waiter, encodeJoined(me, id));
        if (liveOwner !== undefined && result.previous === expected) {
          queueOut(liveOwner, encodeKick(id));
          return TOOK_OVER;
        }
        return CLAIMED;
      }
      const owner = ownerOf(result.current);
      const alive = await scripts.alive(owner);
      if (alive && (!takeOver || result.current.slice(owner.length + 1) !== tokenHash)) return giveBack();
      expected = result.current;
      liveOwner = alive ? owner : undefined;
    }
    return giveBack();
  }

  function applyRenewal(next: Renewal, own: number): void {
    renewal = { ...next, own };
    for (const dead of next.dead) {
      if (dead === instance || reaping.has(dead)) continue;
      reaping.add(dead);
      lease
        .reap(dead)
        .then(
          (ids) => {
            if (ids > 0) logger.warn('cluster instance gone: its ids are free', { instance: dead, ids });
          },
          (error: Error) => logger.debug('redis reaping failed', { instance: dead, reason: error.message }),
        )
        .finally(() => reaping.delete(dead));
    }
  }

  async function leaseTick(): Promise<void> {
    if (!isUp() || resyncing !== undefined) return;
    const masters = mastersOf();
    if (degraded || masters !== topology) {
      // After a failover the new master may lack our last writes: register everything again.
      topology = masters;
      void resync(false);
      return;
    }
    try {
      const own = localCount();
      const next = await lease.renew(instance, own);
      if (next.lapsed) {
        logger.warn('cluster lease lapsed (this instance was cut off or stalled): rejoining', { instance });
        void resync(true);
        return;
      }
      applyRenewal(next, own);
      void retryWaiting();
    } catch (error) {
      logger.debug('redis lease renewal failed', { reason: (error as Error).message });
      markDegraded();
    }
  }

  /**
   * (Re)joins the cluster: renews the lease (under a new instance id when it had lapsed), listens on
   * our inbox, claims every local peer again, drops stale claims of ours, and looks up the
   * destinations whose frames wait here.
   */
  function resync(lapsed: boolean): Promise<void> {
    if (closed) return Promise.resolve();
    resyncing ??= (async () => {
      try {
        topology = mastersOf();
        const own = localCount();
        let next = await lease.renew(instance, own);
        if ((lapsed || next.lapsed) && joined) {
          // Others may have freed our ids and reaped our name: nothing they do to the old name may touch what we register now.
          const previous = instance;
          instance = newInstanceId();
          inbox = keys.inbox(instance);
          await subscriber.sunsubscribe(keys.inbox(previous)).catch(noop);
          await lease.end(previous).catch(noop);
          logger.info('rejoining the cluster under a new instance id', { previous, instance });
          next = await lease.renew(instance, own);
        }
        await subscriber.ssubscribe(inbox);
        joined = true;
        const local = [...(hooks?.localPeers() ?? [])];
        const localIds = new Set(local.map((peer) => peer.id));
        const results = await Promise.all(local.map((peer) => claimInCluster(peer.id, peer.token, false)));
        results.forEach((result, index) => {
          if (result.outcome === 'taken') hooks?.lost(local[index]!.id);
        });
        const ours = await commands.smembers(keys.ids(instance));
        await Promise.all(
          ours.filter((id) => !localIds.has(id)).map((id) => Promise.all([scripts.release(id, instance), commands.srem(keys.ids(instance), id)])),
        );
        applyRenewal(next, own);
        if (degraded) logger.info('rejoined the cluster', { instance, peers: local.length });
        degraded = false;
        void retryWaiting();
      } catch (error) {
        lastResyncError = (error as Error).message;
        logger.debug('redis resync failed; retrying on the next lease tick', { reason: lastResyncError });
        // Logged once per outage, like a lost connection: e.g. a Redis Cluster master without a replica is gone. (A
        // Redis without sharded pub/sub fails the start instead, with its own message.)
        if (isTooOld(lastResyncError)) degraded = true;
        else markDegraded(lastResyncError);
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
          throw new Error(
            `cannot reach Redis at ${where} (${reason}); check --redis (REDIS_URL) and that Redis is running, or pass --redis-optional to start alone`,
            { cause: error },
          );
        }
        logger.warn('redis unreachable: starting alone, will join the cluster when it is back', { url: where, reason });
        started = true;
        degraded = true;
        // ioredis retries from here on; 'ready' triggers the resync, which subscribes.
        for (const connection of [commands, subscriber]) connection.connect().catch(noop);
      }
      if (!started) {
        started = true;
        await resync(false);
        // A Redis older than 7.0 would leave the instance degraded for good: say so now, as for an unreachable Redis.
        if (degraded && isTooOld(lastResyncError)) {
          closed = true;
          for (const connection of [commands, subscriber]) connection.disconnect();
          throw new Error(
            `Redis at ${where} has no sharded pub/sub (SSUBSCRIBE is an unknown command there); cluster mode needs Redis 7.0 or later: upgrade it`,
          );
        }
      }
      leaseTimer = setInterval(() => void leaseTick(), lease.intervalMs);
      leaseTimer.unref();
      logger.info('cluster mode on', { instance, redis: where, redisCluster: options.cluster, degraded });
    },

    claim(id, token): ClaimResult | Promise<ClaimResult> {
      // A resync snapshots the local peers: a claim that arrives meanwhile waits for it, then claims for real.
      if (resyncing !== undefined) return resyncing.then(() => this.claim(id, token));
      // Without Redis we cannot check the cluster: serve locally now and register on reconnect.
      if (degraded || !isUp()) return CLAIMED;
      return claimInCluster(id, token, true).then(
        (result) => {
          if (result.outcome !== 'taken') {
            // Frames for it are delivered here from now on. Frames held behind a pending lookup go back to the relay
            // now (it queues them, and the registration that follows flushes the queue); a draining route hands its
            // frames back itself.
            const route = routes.get(id);
            routes.delete(id);
            waiting.delete(id);
            if (route !== undefined && route.failed === undefined) handBackHeld(route);
          }
          return result;
        },
        (): ClaimResult => {
          // Serve the peer, but remember that Redis may not know it: the next resync registers it.
          markDegraded();
          return CLAIMED;
        },
      );
    },

    release(id) {
      if (degraded || !isUp()) return; // the next resync drops it from Redis
      scripts.release(id, instance).catch(noop);
      commands.srem(keys.ids(instance), id).catch(noop);
    },

    forward(delivery, onAbsent) {
      const { dst } = delivery;
      if (degraded || !isUp()) {
        const busy = routes.get(dst);
        if (busy !== undefined && (busy.inflight > 0 || busy.held !== undefined)) {
          // Earlier frames for it are in flight or held: this one goes behind them, and all go to the local queue, in
          // order, once those have settled.
          busy.failed ??= [];
          busy.owner = undefined;
          (busy.held ??= []).push({ delivery, onAbsent });
          if (busy.inflight === 0) finishDrain(busy);
          return true;
        }
        // Queued here; the resync after the outage looks it up and hands the queue on. A cached route must not let a
        // later frame overtake this one once Redis is back.
        routes.delete(dst);
        markWaiting(dst);
        return false;
      }
      let route = routes.get(dst);
      if (route === undefined) {
        // Earlier frames for it wait here: this one goes behind them.
        if (isWaiting(dst)) return false;
        route = addRoute(dst);
      }
      const entry: Entry = { delivery, onAbsent };
      if (route.held !== undefined) route.held.push(entry);
      else if (route.owner === undefined) {
        route.held = [entry];
        lookUp(route);
      } else send(route, entry);
      return true;
    },

    async listIds(cursor, limit) {
      let start = '';
      let scan = '0';
      if (cursor !== undefined) {
        const parsed = /^([0-9a-f]{12})\.(\d{1,20})$/.exec(cursor);
        if (parsed === null) throw new InvalidCursorError(`invalid cursor ${JSON.stringify(cursor.slice(0, 40))}`);
        start = parsed[1]!;
        scan = parsed[2]!;
      }
      if (degraded || !isUp()) throw new Error('redis is unreachable');
      const live = (await scripts.live()).sort();
      let index = live.findIndex((name) => name >= start);
      // The instance the cursor was in has gone: carry on with the next one from its start.
      if (index >= 0 && live[index] !== start) scan = '0';
      const ids = new Set<string>();
      while (index >= 0 && index < live.length && ids.size < limit) {
        const [next, batch] = await commands.sscan(keys.ids(live[index]!), scan, 'COUNT', Math.min(1000, limit - ids.size));
        for (const id of batch) ids.add(id);
        if (next === '0') {
          index++;
          scan = '0';
        } else scan = next;
      }
      const more = index >= 0 && index < live.length;
      return { ids: [...ids], next: more ? `${live[index]}.${scan}` : undefined };
    },

    status(localPeers): ClusterStatus {
      return {
        state: degraded || !isUp() ? 'degraded' : 'ok',
        peers: localPeers + Math.max(0, renewal.peers - renewal.own),
        instances: renewal.instances,
        connection: commands.status === 'ready' ? 'connected' : commands.status === 'end' ? 'disconnected' : 'connecting',
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      if (leaseTimer !== undefined) clearInterval(leaseTimer);
      if (flushTimer !== undefined) clearImmediate(flushTimer);
      flushTimer = undefined;
      if (isUp() && joined) {
        try {
          // Notices still waiting for the end of the tick, then our lease ends and our ids are freed.
          flushOutbox(true);
          await lease.end(instance);
          await lease.reap(instance);
        } catch {
          // Redis went away during shutdown; our ids are freed once the lease runs out.
        }
      }
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
