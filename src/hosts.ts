// How a bound or configured host appears in a URL: all-interfaces binds are reached on 127.0.0.1, IPv6 goes in brackets.
const ALL_INTERFACES = new Set(['::', '0.0.0.0', '[::]', '']);

/** Whether `host` binds every interface (`::`, `0.0.0.0`): the server is then reachable from other machines. */
export function isAllInterfaces(host: string): boolean {
  return ALL_INTERFACES.has(host);
}

/**
 * An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, what a dual-stack socket reports for an IPv4 client)
 * as the IPv4 address it stands for; any other address as it is.
 */
export function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped === null ? address : mapped[1]!;
}

/** `::`, `0.0.0.0` → `127.0.0.1`; `::1` → `[::1]`; `::ffff:10.0.0.1` → `10.0.0.1`; anything else as it is. */
export function urlHost(host: string): string {
  if (isAllInterfaces(host)) return '127.0.0.1';
  const plain = plainAddress(host);
  return plain.includes(':') && !plain.startsWith('[') ? `[${plain}]` : plain;
}
