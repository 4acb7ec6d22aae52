// createSignalServer(config): HTTP(S) server + WebSocket transport, with listen() and an idempotent close(); no process globals.
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolveConfig, type Config } from './config.js';
import { PeerSignalError } from './errors.js';
import type { Logger } from './logger.js';
import { createHttpServer } from './http/http-server.js';
import { listenOn } from './listen.js';
import { urlHost } from './hosts.js';
import { WebSocketTransport } from './transport/websocket.js';
import type { SignalingObserver } from './signaling/observer.js';
import { createParts } from './parts.js';
import { VERSION } from './version.js';

export interface SignalServerOptions {
  /** Where the server logs connections and problems. Default: silent. */
  logger?: Logger;
  /** Told what happens to peers and messages, synchronously (metrics, summaries, transcripts). Default: nobody. */
  observer?: SignalingObserver;
}

/** The options to pass to `new Peer(id, options)` of the `peerjs` client to reach this server. */
export interface PeerClientOptions {
  /** As a URL needs it: `127.0.0.1`, or `[::1]` for an IPv6 address. */
  host: string;
  port: number;
  path: string;
  key: string;
  secure: boolean;
}

export interface ListeningInfo {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:9000/peerjs` (an all-interfaces bind shows 127.0.0.1). */
  url: string;
  /** The signaling WebSocket's URL, e.g. `ws://127.0.0.1:9000/peerjs/peerjs` (without the query the client adds). */
  wsUrl: string;
  /** The bound port (useful with port 0). */
  port: number;
  /** The bound address as the OS reports it. */
  host: string;
  /** The normalized path prefix (`--path`). */
  path: string;
  /** Whether it serves HTTPS/WSS. */
  secure: boolean;
  /** What to pass to `new Peer(id, client)`. */
  client: PeerClientOptions;
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
  /** Open WebSocket connections, registered or not. */
  readonly socketCount: number;
  /** Messages waiting for absent peers, and their bytes as the queue caps count them. */
  queued(): { messages: number; bytes: number };
  /** Signaling frames (all but heartbeats) received from peers since the start; a rate for monitoring. */
  readonly framesHandled: number;
}

export function createSignalServer(partial: Partial<Config> = {}, options: SignalServerOptions = {}): SignalServer {
  const config = resolveConfig(partial);
  const { logger, cluster, transport, peers, metrics, handler } = createParts(config, options);
  const httpServer = createHttpServer(config, logger, handler);
  httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => transport.handleUpgrade(request, socket, head));
  const scheme = config.sslKey !== undefined ? 'https' : 'http';

  let listening: ListeningInfo | undefined;
  let listenPromise: Promise<ListeningInfo> | undefined;
  let closePromise: Promise<void> | undefined;

  const closedWhileStarting = (): PeerSignalError =>
    new PeerSignalError('PEER_SIGNAL_ERR_LISTEN', 'the server was closed while it was starting; create a new one');

  const listenOnce = async (): Promise<ListeningInfo> => {
    if (closePromise !== undefined) throw new PeerSignalError('PEER_SIGNAL_ERR_LISTEN', 'the server was closed; create a new one');
    await metrics?.start();
    try {
      await cluster.start(peers.clusterHooks());
    } catch (error) {
      // The backend's message says what was wrong and what to do.
      throw new PeerSignalError('PEER_SIGNAL_ERR_CLUSTER', (error as Error).message, { cause: error });
    }
    // close() may have been called while the backend was starting: do not bind a port nobody will close.
    if (closePromise !== undefined) {
      await cluster.close();
      throw closedWhileStarting();
    }
    try {
      await listenOn(httpServer, config.host, config.port);
    } catch (error) {
      await cluster.close();
      throw error;
    }
    if (closePromise !== undefined) {
      // close() ran while binding; its httpServer.close() may have come too early, so close again.
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      throw closedWhileStarting();
    }
    httpServer.on('error', (error) => logger.error('server error', { reason: error.message }));
    const address = httpServer.address() as AddressInfo;
    const host = urlHost(address.address);
    const base = config.path === '/' ? '' : config.path;
    const secure = scheme === 'https';
    listening = {
      url: `${scheme}://${host}:${address.port}${base}`,
      wsUrl: `${secure ? 'wss' : 'ws'}://${host}:${address.port}${base}/peerjs`,
      port: address.port,
      host: address.address,
      path: config.path,
      secure,
      client: { host, port: address.port, path: config.path, key: config.key, secure },
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
      return peers.relay.framesHandled;
    },
    get peerCount() {
      return peers.count;
    },
    get socketCount() {
      return transport.sockets.size;
    },
    queued: () => peers.queued(),
  };
}
