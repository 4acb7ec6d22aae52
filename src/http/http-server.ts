// The node:http or node:https server: handshake timeouts, TLS from the config, and answers to requests Node cannot parse.
import { createServer as createPlainServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Config } from '../config.js';
import { PeerSignalError } from '../errors.js';
import type { Logger } from '../logger.js';
import { endRawResponse } from './raw-response.js';

/** Creates the HTTP(S) server for `handler`; throws PEER_SIGNAL_ERR_TLS when the key or certificate cannot be used. */
export function createHttpServer(
  config: Readonly<Config>,
  logger: Logger,
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Server {
  // Connections that never finish their request headers (slowloris, stuck upgrades) are dropped after this.
  const timeouts = {
    headersTimeout: config.handshakeTimeoutMs,
    requestTimeout: config.handshakeTimeoutMs,
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(config.handshakeTimeoutMs / 4))),
  };
  let server: Server;
  try {
    server =
      config.sslKey !== undefined && config.sslCert !== undefined
        ? createTlsServer({ key: config.sslKey, cert: config.sslCert, ...timeouts }, handler)
        : createPlainServer(timeouts, handler);
  } catch (error) {
    throw new PeerSignalError(
      'PEER_SIGNAL_ERR_TLS',
      `the TLS key or certificate cannot be used (${(error as Error).message}); pass a PEM private key and its matching certificate`,
      { cause: error },
    );
  }
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    endRawResponse(socket, error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400);
  });
  // Only HTTPS servers emit this; a failed handshake is the client's problem, not a server error.
  server.on('tlsClientError', (error: Error) => logger.debug('tls handshake failed', { reason: error.message }));
  return server;
}
