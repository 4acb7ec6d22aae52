// A signaling server inside someone else's HTTP(S) server (an Express, socket.io or Vite app): its upgrades and a handler to mount, no port of its own.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { resolveConfig, type Config } from './config.js';
import { PeerSignalError } from './errors.js';
import { endRawResponse } from './http/raw-response.js';
import { createParts, type PartsOptions } from './parts.js';

export type AttachOptions = PartsOptions;

export interface AttachedSignalServer {
  readonly config: Readonly<Config>;
  /**
   * The HTTP API (health, id, peers, ...) for the app to serve: mount it where the client's `path`
   * points, e.g. `app.use(mountPath, attached.handler)` with the same mountPath given here.
   */
  readonly handler: (request: IncomingMessage, response: ServerResponse) => void;
  /** Resolves once the cluster backend (and metrics) are ready; rejects with PEER_SIGNAL_ERR_CLUSTER. */
  readonly ready: Promise<void>;
  /** Closes the peers (1001) and timers and stops taking upgrades; the app's server keeps running. Idempotent. */
  close(): Promise<void>;
  readonly peerCount: number;
  readonly socketCount: number;
  queued(): { messages: number; bytes: number };
}

/**
 * Takes the WebSocket upgrades to `{mountPath}{config.path}/peerjs` on `server`, and only those:
 * other `upgrade` listeners (socket.io, a ws server, Vite's HMR) keep theirs, whichever was attached
 * first. An upgrade nobody claims is answered 404 at once when this is the server's only `upgrade`
 * listener, else after the handshake timeout, if no other listener has written anything to it.
 * Installs no process-wide handlers.
 */
export function attachSignalServer(
  server: HttpServer | HttpsServer,
  partial: Partial<Config> = {},
  options: AttachOptions = {},
): AttachedSignalServer {
  const config = resolveConfig(partial);
  const { logger, cluster, transport, peers, metrics, handler } = createParts(config, options);

  const answerUnclaimed = (request: IncomingMessage, socket: Duplex): void => {
    if (!socket.writable || socket.destroyed) return;
    const pathname = (request.url ?? '/').split('?')[0];
    endRawResponse(socket, 404, request.method, `no WebSocket endpoint at ${pathname}`);
  };
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (transport.takesUpgrade(request.url ?? '/')) {
      transport.handleUpgrade(request, socket, head);
      return;
    }
    // Someone else's, or nobody's: leave it to the other listeners, but never let it hang.
    if (server.listenerCount('upgrade') === 1) {
      answerUnclaimed(request, socket);
      return;
    }
    const raw = socket as Duplex & { bytesWritten?: number };
    const timer = setTimeout(() => {
      if (raw.bytesWritten === 0) answerUnclaimed(request, socket);
    }, config.handshakeTimeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
  server.on('upgrade', onUpgrade);

  const ready = (async () => {
    await metrics?.start();
    try {
      await cluster.start(peers.clusterHooks());
    } catch (error) {
      throw new PeerSignalError(
        'PEER_SIGNAL_ERR_CLUSTER',
        `${(error as Error).message}; check redisUrl and that Redis is running, or pass redisOptional: true to start alone`,
        { cause: error },
      );
    }
  })();
  // Seen by whoever awaits `ready`; without this, an unawaited failure would crash the app.
  ready.catch((error: Error) => logger.error('signaling server could not start', { reason: error.message }));

  let closing: Promise<void> | undefined;
  return {
    config,
    handler,
    ready,
    close() {
      closing ??= (async () => {
        server.off('upgrade', onUpgrade);
        await ready.catch(() => undefined);
        await transport.close();
        await cluster.close();
      })();
      return closing;
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
