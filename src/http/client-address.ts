// The client's IP address: the socket's peer, or the first X-Forwarded-For hop when the server is proxied.
import type { IncomingHttpHeaders } from 'node:http';

/** The parts of a request read here: an IncomingMessage has them, and so has a directly taken upgrade. */
interface AddressedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

/** `trustedHops` is how many proxies append to X-Forwarded-For; 0 means none (not proxied). */
export function clientAddress(request: AddressedRequest, trustedHops: number): string {
  if (trustedHops > 0) {
    const forwarded = request.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return request.socket.remoteAddress ?? 'unknown';
}
