// The parts of a signaling server, wired together: cluster backend, transport and peers, metrics, the HTTP API handler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { silentLogger, type Logger } from './logger.js';
import { createRequestHandler } from './http/routes.js';
import { WebSocketTransport } from './transport/websocket.js';
import { createMemoryBackend } from './cluster/memory.js';
import { createLazyRedisBackend } from './cluster/lazy-redis.js';
import { InvalidCursorError, type ClusterBackend } from './cluster/backend.js';
import { createLazyMetrics, type ServerMetrics } from './metrics/lazy-metrics.js';
import { combineObservers, type SignalingObserver } from './signaling/observer.js';
import { monotonicNow, type Peers } from './signaling/peers.js';
import { sendToPeer } from './signaling/relay.js';
import { VERSION } from './version.js';

export interface PartsOptions {
  /** Where the server logs connections and problems. Default: silent. */
  logger?: Logger;
  /** Told what happens to peers and messages, synchronously (metrics, summaries, transcripts). Default: nobody. */
  observer?: SignalingObserver;
  /**
   * A path in front of `config.path` for the WebSocket only: where a framework mounted the HTTP
   * handler (Express strips it from the request URLs the handler sees, but not from upgrades).
   */
  mountPath?: string;
  /**
   * Makes the ids that `GET {path}/{key}/id` hands out (the `peer` package's `generateClientId`); asked
   * again while an id is in use. Default: a random UUID.
   */
  generateClientId?: () => string;
  /** Given a way to find a connected peer by id once the server is wired: the `peer` compat layer's client objects use it. */
  onPeerLookup?: (find: (id: string) => PeerHandle | undefined) => void;
}

/** One peer connected to this instance, for acting on it by id. */
export interface PeerHandle {
  readonly token: string;
  /** The peer's WebSocket (a `ws` WebSocket). */
  readonly socket: unknown;
  /** When the peer last sent a frame or a pong, in Date.now() ms. */
  lastSeenAt(): number;
  /** Sends one text frame; false (and nothing sent) while the peer has more than maxBufferedBytes unread. */
  send(frame: string): boolean;
}

/** A user's generator may keep answering ids in use; give up rather than spin the event loop forever. */
const MAX_ID_ATTEMPTS = 1000;

export interface Parts {
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  readonly cluster: ClusterBackend;
  readonly transport: WebSocketTransport;
  readonly peers: Peers<unknown>;
  readonly metrics: ServerMetrics | undefined;
  /** The HTTP API: health, info, id, peers, metrics, admin; calls `next` (when given) for what no route matches. */
  readonly handler: (request: IncomingMessage, response: ServerResponse, next?: () => void) => void;
}

export function createParts(config: Readonly<Config>, options: PartsOptions = {}): Parts {
  const logger = options.logger ?? silentLogger;
  const cluster = config.redisUrl === undefined ? createMemoryBackend() : createLazyRedisBackend(config, logger);
  // The sources are read at scrape time only, after `transport` below exists.
  const metrics = config.metrics
    ? createLazyMetrics({
        version: VERSION,
        peerCount: () => transport.peers.count,
        socketCount: () => transport.sockets.size,
        queued: () => transport.peers.queued(),
        framesHandled: () => transport.peers.relay.framesHandled,
        clusterStatus: config.redisUrl === undefined ? undefined : () => cluster.status(transport.peers.count),
      })
    : undefined;
  const observer = combineObservers([metrics?.observer, options.observer].filter((watcher) => watcher !== undefined));
  const transport = new WebSocketTransport(config, logger, cluster, observer, options.mountPath);
  const { peers } = transport;
  const startedAt = Date.now();
  const handler = createRequestHandler({
    config,
    version: VERSION,
    startedAt,
    peerCount: () => peers.count,
    // A single instance lists its own peers (at most --concurrent-limit); a cluster lists from Redis, one
    // page at a time, or this instance's own peers while Redis is unreachable.
    listPeers: (cursor, limit) =>
      config.redisUrl === undefined
        ? Promise.resolve({ ids: [...peers.ids()], next: undefined })
        : cluster.listIds(cursor, limit).catch((error: unknown) => {
            if (error instanceof InvalidCursorError) throw error;
            return { ids: [...peers.ids()], next: undefined };
          }),
    clusterStatus: () => cluster.status(peers.count),
    metrics: metrics?.scrape,
    admin: config.adminToken === undefined ? undefined : { disconnect: (id) => peers.disconnect(id), faults: peers.relay.faults },
    generateId: () => {
      const generate = options.generateClientId ?? randomUUID;
      for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
        const id = String(generate());
        // In a cluster, an id in use on another instance is refused when the client connects with it (ID-TAKEN).
        if (!peers.has(id)) return id;
      }
      throw new Error(`generateClientId returned ${MAX_ID_ATTEMPTS} ids in a row that are in use; make it return random ids`);
    },
  });
  options.onPeerLookup?.((id) => {
    const peer = peers.relay.realm.get(id);
    if (peer === undefined) return undefined;
    return {
      token: peer.token,
      socket: peer.socket,
      lastSeenAt: () => Date.now() - (monotonicNow() - peer.lastSeen),
      send: (frame) => sendToPeer(peers.relay, peer, frame),
    };
  });
  return { config, logger, cluster, transport, peers: peers as Peers<unknown>, metrics, handler };
}
