// The parts of a signaling server, wired together: cluster backend, transport and peers, metrics, the HTTP API handler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { silentLogger, type Logger } from './logger.js';
import { createRequestHandler } from './http/routes.js';
import { WebSocketTransport } from './transport/websocket.js';
import { createMemoryBackend } from './cluster/memory.js';
import { createLazyRedisBackend } from './cluster/lazy-redis.js';
import type { ClusterBackend } from './cluster/backend.js';
import { createLazyMetrics, type ServerMetrics } from './metrics/lazy-metrics.js';
import { combineObservers, type SignalingObserver } from './signaling/observer.js';
import type { Peers } from './signaling/peers.js';
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
}

export interface Parts {
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  readonly cluster: ClusterBackend;
  readonly transport: WebSocketTransport;
  readonly peers: Peers<unknown>;
  readonly metrics: ServerMetrics | undefined;
  /** The HTTP API: health, info, id, peers, metrics, admin. */
  readonly handler: (request: IncomingMessage, response: ServerResponse) => void;
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
    peerIds: function* () {
      yield* peers.ids();
      yield* cluster.remoteIds();
    },
    clusterStatus: () => cluster.status(peers.count),
    metrics: metrics?.scrape,
    admin: config.adminToken === undefined ? undefined : { disconnect: (id) => peers.disconnect(id), faults: peers.relay.faults },
    generateId: () => {
      let id = randomUUID();
      while (peers.has(id) || cluster.isRemote(id)) id = randomUUID();
      return id;
    },
  });
  return { config, logger, cluster, transport, peers: peers as Peers<unknown>, metrics, handler };
}
