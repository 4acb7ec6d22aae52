// The client's IP address: the socket's peer, or the X-Forwarded-For entry the nearest trusted proxy appended.
import type { IncomingHttpHeaders } from 'node:http';
import { plainAddress } from '../hosts.js';

/** The parts of a request read here (an IncomingMessage has them; tests build smaller ones). */
interface AddressedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

/**
 * `trustedHops` is how many proxies append to X-Forwarded-For; 0 means none (not proxied). Each trusted
 * proxy appends the address it was reached from, so the client is the entry `trustedHops` places from
 * the right; anything further left was sent by the client and could say anything. With fewer entries
 * than hops, every entry came from a trusted proxy and the left-most is the client.
 * An IPv4-mapped address (`::ffff:127.0.0.1`, from a dual-stack socket) is given as plain IPv4, so
 * one client is one address in logs and in the per-address limit whichever way it arrived.
 */
export function clientAddress(request: AddressedRequest, trustedHops: number): string {
  const socketAddress = request.socket.remoteAddress ?? 'unknown';
  if (trustedHops <= 0) return plainAddress(socketAddress);
  const forwarded = request.headers['x-forwarded-for'];
  if (forwarded === undefined) return plainAddress(socketAddress);
  // Node joins repeated X-Forwarded-For lines with ", " into one list; an array (a hand-built request) is the same list.
  const entries = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',');
  const entry = entries[Math.max(0, entries.length - trustedHops)]!.trim();
  return plainAddress(entry === '' ? socketAddress : entry);
}
