// The listening banner: IPv6 hosts in brackets wherever a URL or the client snippet shows them; network URLs for an all-interfaces bind.
import type { NetworkInterfaceInfo } from 'node:os';
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { networkAddresses, printListening } from '../../src/cli/banner.js';
import type { Output } from '../../src/cli/output.js';
import { resolveConfig } from '../../src/config.js';
import { createSignalServer } from '../../src/server.js';

const INTERFACES: NodeJS.Dict<NetworkInterfaceInfo[]> = {
  lo: [
    { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
    { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '::1/128', scopeid: 0 },
  ],
  eth0: [
    { address: '192.0.2.7', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '192.0.2.7/24' },
    { address: '2001:db8::7', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: '2001:db8::7/64', scopeid: 0 },
    { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
  ],
};

describe('networkAddresses', () => {
  it.each([
    ['::', ['192.0.2.7', '2001:db8::7']],
    ['0.0.0.0', ['192.0.2.7']],
    ['127.0.0.1', []],
    ['::1', []],
  ])('bound to %s: %j', (host, expected) => {
    expect(networkAddresses(host, INTERFACES)).toEqual(expected);
  });
});

/** An Output for a TTY without colour that collects stdout. */
function captureOutput(): { output: Output; text: () => string } {
  let text = '';
  const plain = new Chalk({ level: 0 });
  const output: Output = {
    json: false,
    out: plain,
    err: plain,
    stdoutIsTTY: true,
    stdout: (chunk) => void (text += chunk),
    stderr: () => {},
    spinner: async () => undefined,
  };
  return { output, text: () => text };
}

describe('printListening', () => {
  it('brackets an IPv6 host in the URLs and in the new Peer(...) snippet', async () => {
    const config = resolveConfig({ host: '::1', port: 0 });
    const server = createSignalServer(config);
    let info;
    try {
      info = await server.listen();
    } catch {
      await server.close();
      return; // no IPv6 loopback here
    }
    try {
      const { output, text } = captureOutput();
      printListening(output, config, info, false);
      expect(text()).toContain(`http://[::1]:${info.port}/peerjs`);
      expect(text()).toContain(`ws://[::1]:${info.port}/peerjs/peerjs`);
      expect(text()).toContain(`new Peer({ host: '[::1]', port: ${info.port}, path: '/peerjs', key: 'peerjs' })`);
      expect(text()).not.toMatch(/reachable from other machines/i);
    } finally {
      await server.close();
    }
  });

  it('with --quiet prints the one plain listening line on a TTY too', async () => {
    const config = resolveConfig({ host: '127.0.0.1', port: 0 });
    const server = createSignalServer(config);
    const info = await server.listen();
    try {
      const { output, text } = captureOutput();
      printListening(output, config, info, true);
      expect(text()).toBe(`peer-signal listening on ${info.url}\n`);
    } finally {
      await server.close();
    }
  });
});
