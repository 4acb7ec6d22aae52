// Answers on a raw socket (refused upgrades, malformed requests) and then frees it, whatever the client does.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

function destroyAfterFinish(this: Duplex): void {
  this.destroy();
}

/**
 * Writes a complete `Connection: close` response and destroys the socket once it is flushed:
 * end() alone only half-closes, and a client that never closes its side would hold the descriptor.
 * A JSON `error` body is sent unless the request was HEAD (which gets the length but never the body).
 * `extraHeaders` are complete header lines, each ending in CRLF.
 */
export function endRawResponse(socket: Duplex, status: number, method?: string, error?: string, extraHeaders = ''): void {
  const body = error === undefined ? '' : JSON.stringify({ error });
  const type = error === undefined ? '' : 'Content-Type: application/json\r\n';
  socket.once('finish', destroyAfterFinish);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n${type}${extraHeaders}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${method === 'HEAD' ? '' : body}`,
  );
}
