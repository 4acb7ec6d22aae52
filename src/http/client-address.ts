// The client's IP address: the socket's peer, or the first X-Forwarded-For hop when the server is proxied.
import type { IncomingMessage } from 'node:http';

export function clientAddress(request: IncomingMessage, proxied: boolean): string {
  if (proxied) {
    const forwarded = request.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return request.socket.remoteAddress ?? 'unknown';
}
