// How a bound or configured host appears in a URL: all-interfaces binds are reached on 127.0.0.1, IPv6 goes in brackets.
const ALL_INTERFACES = new Set(['::', '0.0.0.0', '[::]', '']);

/** `::`, `0.0.0.0` → `127.0.0.1`; `::1` → `[::1]`; anything else as it is. */
export function urlHost(host: string): string {
  if (ALL_INTERFACES.has(host)) return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
