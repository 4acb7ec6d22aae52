// Binding an http.Server to its port: the IPv6 fallback, and an OS error turned into a sentence that says what to do.
import type { Server } from 'node:net';
import { PeerSignalError } from './errors.js';

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

function bind(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host });
  });
}

/**
 * Listens on `host`:`port`. `::` (the default) falls back to `0.0.0.0` on hosts without IPv6, which
 * is what the user meant by all interfaces. Rejects with PEER_SIGNAL_ERR_LISTEN (the OS error as `cause`).
 */
export async function listenOn(server: Server, host: string, port: number): Promise<void> {
  try {
    await bind(server, host, port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (host !== '::' || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) {
      throw listenError(error as NodeJS.ErrnoException, host, port);
    }
    try {
      await bind(server, '0.0.0.0', port);
    } catch (fallbackError) {
      throw listenError(fallbackError as NodeJS.ErrnoException, '0.0.0.0', port);
    }
  }
}
