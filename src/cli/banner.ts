// What serve prints once listening: a JSON event, one plain line (off a TTY, or --quiet), or the banner for people.
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { Config } from '../config.js';
import { isAllInterfaces, urlHost } from '../hosts.js';
import type { ListeningInfo } from '../server.js';
import { VERSION } from '../version.js';
import type { Output } from './output.js';

/**
 * The addresses other machines can reach a server bound to all interfaces on: each non-internal IPv4
 * address, and for `::` (both stacks) each IPv6 one, except link-local ones (fe80::), which a URL
 * can name only with a zone (`%eth0`) that browsers refuse.
 */
export function networkAddresses(boundHost: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] {
  if (!isAllInterfaces(boundHost)) return [];
  const withIPv6 = boundHost !== '0.0.0.0';
  const addresses: string[] = [];
  for (const entries of Object.values(interfaces)) {
    for (const entry of entries ?? []) {
      if (entry.internal) continue;
      if (entry.family === 'IPv6' && (!withIPv6 || /^fe80:/i.test(entry.address))) continue;
      addresses.push(entry.address);
    }
  }
  return addresses;
}

/** The server's URL with `address` as its host. */
function urlAt(info: ListeningInfo, address: string): string {
  const { protocol, pathname } = new URL(info.url);
  return `${protocol}//${urlHost(address)}:${info.port}${pathname === '/' ? '' : pathname}`;
}

/** The `new Peer(...)` options that reach this server; an IPv6 host in brackets, as the client puts it in a URL. */
function clientSnippet(info: ListeningInfo): string {
  const { host, port, path, key, secure } = info.client;
  return `new Peer({ host: '${host}', port: ${port}, path: '${path}', key: '${key}'${secure ? ', secure: true' : ''} })`;
}

/** The listening message for people (the --json line is session.ts's): one plain line off a TTY or with `plain`, else the banner. */
export function printListening(output: Output, config: Readonly<Config>, info: ListeningInfo, plain: boolean): void {
  if (!output.stdoutIsTTY || plain) {
    output.stdout(`peer-signal listening on ${info.url}\n`);
    return;
  }
  const c = output.out;
  const label = (text: string): string => `  ${c.dim(text.padEnd(10))} `;
  const everywhere = isAllInterfaces(info.host);
  const urls = everywhere
    ? [`${label('Local')}${c.cyan(info.url)}`, ...networkAddresses(info.host).map((address) => `${label('Network')}${c.cyan(urlAt(info, address))}`)]
    : [`${label('HTTP')}${c.cyan(info.url)}`];
  const reach = everywhere
    ? ['', `  Reachable from other machines ${c.dim('(--host 127.0.0.1 keeps it local)')}`]
    : [];
  output.stdout(
    [
      '',
      `  ${c.bold.cyan('peer-signal')} ${c.dim(`v${VERSION}`)} ${c.green('ready')}`,
      '',
      ...urls,
      `${label('WebSocket')}${c.cyan(info.wsUrl)}`,
      `${label('Key')}${config.key}`,
      `${label('Discovery')}${config.allowDiscovery ? c.green('on') : `off ${c.dim('(--allow-discovery to list peers)')}`}`,
      ...reach,
      '',
      `  ${c.dim('Client:')} ${clientSnippet(info)}`,
      '',
      `  ${c.dim('Press Ctrl-C to stop.')}`,
      '',
    ].join('\n') + '\n',
  );
}
