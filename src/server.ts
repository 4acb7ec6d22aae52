// createSignalServer(config): HTTP(S) server + WebSocket transport, with listen() and an idempotent close(); no process globals.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolveConfig, type Config } from './config.js';
import { PeerSignalError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import { createRequestHandler } from './http/routes.js';
import { endRawResponse } from './http/raw-response.js';
import { urlHost } from './hosts.js';
import { WebSocketTransport } from './transport/websocket.js';
import { takeDirectUpgrades } from './transport/direct-upgrades.js';
import type { UpgradeRequest } from './transport/handshake.js';
import { createMemoryBackend } from './cluster/memory.js';
import type { ClusterBackend } from './cluster/backend.js';
import { VERSION } from './version.js';

export interface SignalServerOptions {
  /** Where the server logs connections and problems. Default: silent. */
  logger?: Logger;
}

export interface ListeningInfo {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:9000/peerjs` (an all-interfaces bind shows 127.0.0.1). */
  url: string;
  /** The bound port (useful with port 0). */
  port: number;
  /** The bound address as the OS reports it. */
  host: string;
}

export interface SignalServer {
  readonly config: Readonly<Config>;
  /** Binds the port. Rejects with PEER_SIGNAL_ERR_LISTEN (its `cause` has the OS code) on failure. */
  listen(): Promise<ListeningInfo>;
  /** Stops accepting, closes every peer socket with 1001, waits at most closeTimeoutMs. Idempotent. */
  close(): Promise<void>;
  /** The bound address, or null before listen() resolved. */
  address(): AddressInfo | null;
  /** The base URL once listening, else undefined. */
  readonly url: string | undefined;
  /** Number of connected peers. */
  readonly peerCount: number;
  /** Signaling frames (all but heartbeats) received from peers since the start; a rate for monitoring. */
  readonly framesHandled: number;
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): PeerSignalError {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const hints: Record<string, string> = {
    EADDRINUSE: `port ${port} is already in use (EADDRINUSE); stop the other process or pass --port 0 to pick a free port`,
    EACCES: `no permission to listen on ${where} (EACCES); use a port above 1023 or run with the needed privileges`,
    EADDRNOTAVAIL: `address ${host} is not available on this machine (EADDRNOTAVAIL); pass --host 0.0.0.0 or a local address`,
    ENOTFOUND: `host ${host} could not be resolved (ENOTFOUND); pass an IP address such as 127.0.0.1`,
  };
  const message = hints[error.code ?? ''] ?? `could not listen on ${where}: ${error.message}`;
  return new PeerSignalError('PEER_SIGNAL_ERR_LISTEN', message, { cause: error });
}

/**
 * The Redis backend, loaded only in cluster mode: ioredis is most of the bundle, and a single
 * instance should not pay for parsing it at start-up. Every call but start() waits for it.
 */
function createLazyRedisBackend(config: Readonly<Config>, logger: Logger): ClusterBackend {
  let backend: ClusterBackend | undefined;
  const loaded = (): ClusterBackend => {
    if (backend === undefined) throw new Error('cluster backend used before start()');
    return backend;
  };
  return {
    kind: 'redis',
    async start(hooks) {
      const { createRedisBackend } = await import('./cluster/redis.js');
      backend = createRedisBackend({
        url: config.redisUrl!,
        prefix: config.redisPrefix,
        leaseMs: config.clusterLeaseMs,
        optional: config.redisOptional,
        logger,
      });
      await backend.start(hooks);
    },
    claim: (id, token) => loaded().claim(id, token),
    release: (id) => backend?.release(id),
    forward: (delivery, onAbsent) => backend?.forward(delivery, onAbsent) ?? false,
    remoteIds: () => backend?.remoteIds() ?? [],
    isRemote: (id) => backend?.isRemote(id) ?? false,
    status: (localPeers) =>
      backend?.status(localPeers) ?? { state: 'degraded', peers: localPeers, instances: 1, connection: 'connecting' },
    close: () => backend?.close() ?? Promise.resolve(),
  };
}

/** Creates a signaling server. Nothing is bound until listen(); no signal handlers are installed. */
export function createSignalServer(partial: Partial<Config> = {}, options: SignalServerOptions = {}): SignalServer {
  const config = resolveConfig(partial);
  const logger = options.logger ?? silentLogger;
  const cluster = config.redisUrl === undefined ? createMemoryBackend() : createLazyRedisBackend(config, logger);
  const transport = new WebSocketTransport(config, logger, cluster);
  const startedAt = Date.now();

  const handler = createRequestHandler({
    config,
    version: VERSION,
    startedAt,
    peerCount: () => transport.peerCount,
    peerIds: function* () {
      yield* transport.realm.peers.keys();
      yield* cluster.remoteIds();
    },
    clusterStatus: () => cluster.status(transport.peerCount),
    generateId: () => {
      let id = randomUUID();
      while (transport.realm.peers.has(id) || cluster.isRemote(id)) id = randomUUID();
      return id;
    },
  });

  // Connections that never finish their request headers (slowloris, stuck upgrades) are dropped after this.
  const timeouts = {
    headersTimeout: config.handshakeTimeoutMs,
    requestTimeout: config.handshakeTimeoutMs,
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(config.handshakeTimeoutMs / 4))),
  };
  const scheme = config.sslKey !== undefined ? 'https' : 'http';
  let httpServer: HttpServer;
  try {
    httpServer =
      config.sslKey !== undefined && config.sslCert !== undefined
        ? createHttpsServer({ key: config.sslKey, cert: config.sslCert, ...timeouts }, handler)
        : createHttpServer(timeouts, handler);
  } catch (error) {
    throw new PeerSignalError(
      'PEER_SIGNAL_ERR_TLS',
      `the TLS key or certificate cannot be used (${(error as Error).message}); pass a PEM private key and its matching certificate`,
      { cause: error },
    );
  }
  // Upgrades Node parsed, and (plain HTTP only: TLS connections are read by the TLS layer, not
  // through their TCP handle) those taken from a connection's first read.
  const upgrade = (request: UpgradeRequest, socket: Duplex, head: Buffer): void => transport.handleUpgrade(request, socket, head);
  httpServer.on('upgrade', upgrade);
  const directUpgrades =
    scheme === 'http'
      ? takeDirectUpgrades(httpServer, { takes: (url) => transport.takesUpgrade(url), upgrade, timeoutMs: config.handshakeTimeoutMs })
      : undefined;
  httpServer.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    endRawResponse(socket, error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400);
  });
  // Only HTTPS servers emit this; a failed handshake is the client's problem, not a server error.
  httpServer.on('tlsClientError', (error: Error) => logger.debug('tls handshake failed', { reason: error.message }));

  let listening: ListeningInfo | undefined;
  let listenPromise: Promise<ListeningInfo> | undefined;
  let closePromise: Promise<void> | undefined;

  const bind = (host: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        httpServer.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        httpServer.off('error', onError);
        resolve();
      };
      httpServer.once('error', onError);
      httpServer.once('listening', onListening);
      httpServer.listen({ port: config.port, host });
    });

  const closedWhileStarting = (): PeerSignalError =>
    new PeerSignalError('PEER_SIGNAL_ERR_LISTEN', 'the server was closed while it was starting; create a new one');

  const listenOnce = async (): Promise<ListeningInfo> => {
    if (closePromise !== undefined) throw new PeerSignalError('PEER_SIGNAL_ERR_LISTEN', 'the server was closed; create a new one');
    try {
      await cluster.start(transport.clusterHooks());
    } catch (error) {
      throw new PeerSignalError(
        'PEER_SIGNAL_ERR_CLUSTER',
        `${(error as Error).message}; check --redis (REDIS_URL) and that Redis is running, or pass --redis-optional to start alone`,
        { cause: error },
      );
    }
    // close() may have been called while the backend was starting: do not bind a port nobody will close.
    if (closePromise !== undefined) {
      await cluster.close();
      throw closedWhileStarting();
    }
    try {
      await bind(config.host);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // `::` is the default; hosts without IPv6 refuse it, and all-interfaces IPv4 is what the user meant.
      if (config.host === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
        try {
          await bind('0.0.0.0');
        } catch (fallbackError) {
          await cluster.close();
          throw listenError(fallbackError as NodeJS.ErrnoException, '0.0.0.0', config.port);
        }
      } else {
        await cluster.close();
        throw listenError(error as NodeJS.ErrnoException, config.host, config.port);
      }
    }
    if (closePromise !== undefined) {
      // close() ran while binding; its httpServer.close() may have come too early, so close again.
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      throw closedWhileStarting();
    }
    httpServer.on('error', (error) => logger.error('server error', { reason: error.message }));
    const address = httpServer.address() as AddressInfo;
    listening = {
      url: `${scheme}://${urlHost(address.address)}:${address.port}${config.path === '/' ? '' : config.path}`,
      port: address.port,
      host: address.address,
    };
    return listening;
  };

  return {
    config,
    listen() {
      // One listen at a time: a second call while binding gets the same promise.
      listenPromise ??= listenOnce().catch((error: unknown) => {
        listenPromise = undefined;
        throw error;
      });
      return listenPromise;
    },
    close() {
      closePromise ??= (async () => {
        const stopped = new Promise<void>((resolve) => {
          if (!httpServer.listening) return resolve();
          httpServer.close(() => resolve());
        });
        directUpgrades?.close();
        await transport.close();
        await cluster.close();
        httpServer.closeAllConnections();
        await stopped;
        // A listen() in flight notices the close and undoes what it started; wait for that.
        await listenPromise?.catch(() => undefined);
      })();
      return closePromise;
    },
    address() {
      return listening === undefined ? null : (httpServer.address() as AddressInfo);
    },
    get url() {
      return listening?.url;
    },
    get framesHandled() {
      return transport.framesHandled;
    },
    get peerCount() {
      return transport.peerCount;
    },
  };
}
