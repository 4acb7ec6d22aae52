// PeerServer(options, callback): `peer` 1.0.2's standalone server, an Express app on its own HTTP(S) server with ExpressPeerServer mounted.
import type { Server as HttpServer } from 'node:http';
import { createServer as createTlsServer, type Server as HttpsServer } from 'node:https';
import { resolveConfig } from '../config.js';
import { PeerSignalError } from '../errors.js';
import { createHttpServer } from '../http/http-server.js';
import { listenOn } from '../listen.js';
import { silentLogger } from '../logger.js';
import { ExpressPeerServer, loadExpress } from './express-peer-server.js';
import { toCompatOptions } from './options.js';
import type { PeerServerApp, PeerServerOptions } from './types.js';

/**
 * `peer`'s PeerServer: listens on `port` (default 9000) and `host` (default `::`) and calls `callback`
 * with the HTTP(S) server once listening. `ssl` goes to https.createServer as in `peer`. A failure to
 * listen is emitted as `error` when there is a listener, else it rejects unhandled (as `peer` crashes).
 * Returns the mounted ExpressPeerServer; its close() also closes this HTTP server.
 */
export function PeerServer(
  options: PeerServerOptions = {},
  callback?: (server: HttpServer | HttpsServer) => void,
): PeerServerApp {
  const compat = toCompatOptions(options as Record<string, unknown>);
  const config = resolveConfig(compat.config);
  const app = loadExpress('PeerServer')();
  let server: HttpServer | HttpsServer;
  if (compat.ssl === undefined) {
    // Our own server: handshake timeouts, and TLS from sslKey/sslCert.
    server = createHttpServer(config, compat.logger ?? silentLogger, app);
  } else {
    try {
      server = createTlsServer(compat.ssl, app);
    } catch (error) {
      throw new PeerSignalError(
        'PEER_SIGNAL_ERR_TLS',
        `the ssl options cannot be used (${(error as Error).message}); pass a PEM private key and its matching certificate as ssl: { key, cert }`,
        { cause: error },
      );
    }
  }
  const { ssl: _ssl, ...rest } = options;
  const peerServer = ExpressPeerServer(server, rest);
  app.use(peerServer);

  const listening = listenOn(server, config.host, config.port).then(
    () => callback?.(server),
    (error: unknown) => {
      if (peerServer.listenerCount('error') === 0) throw error;
      peerServer.emit('error', error);
    },
  );
  const closeSignaling = peerServer.close.bind(peerServer);
  let closing: Promise<void> | undefined;
  return Object.assign(peerServer, {
    close(): Promise<void> {
      closing ??= (async () => {
        await listening.catch(() => undefined);
        await closeSignaling();
        const stopped = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  });
}
