// Which address a connection counts as: X-Forwarded-For entries as a real node:http server parses them, per trusted hop count.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAddress } from '../../src/http/client-address.js';

// Answers each request with clientAddress(request, hops), hops taken from the path (/2 means 2).
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((request, response) => response.end(clientAddress(request, Number(request.url!.slice(1)))));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

/** Sends each of `forwardedLines` as its own X-Forwarded-For header line, exactly as written. */
async function addressFor(forwardedLines: readonly string[], hops: number): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const lines = forwardedLines.map((value) => `X-Forwarded-For: ${value}\r\n`).join('');
  socket.end(`GET /${hops} HTTP/1.1\r\nHost: x\r\n${lines}Connection: close\r\n\r\n`);
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  await once(socket, 'close');
  expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  return answer.slice(answer.indexOf('\r\n\r\n') + 4);
}

const SOCKET = '127.0.0.1';

describe('clientAddress', () => {
  it.each([
    { name: 'not proxied: the header is ignored', lines: ['203.0.113.7'], hops: 0, expected: SOCKET },
    { name: 'not proxied, no header', lines: [], hops: 0, expected: SOCKET },
    { name: 'no header', lines: [], hops: 1, expected: SOCKET },
    { name: 'one entry, one hop', lines: ['203.0.113.7'], hops: 1, expected: '203.0.113.7' },
    { name: 'one hop: forged entries on the left are skipped', lines: ['198.51.100.1, 198.51.100.2, 203.0.113.7'], hops: 1, expected: '203.0.113.7' },
    { name: 'one hop, no spaces', lines: ['198.51.100.1,203.0.113.7'], hops: 1, expected: '203.0.113.7' },
    { name: 'two hops', lines: ['198.51.100.1, 203.0.113.7, 10.0.0.2'], hops: 2, expected: '203.0.113.7' },
    { name: 'three hops', lines: ['198.51.100.1, 203.0.113.7, 10.0.0.3, 10.0.0.2'], hops: 3, expected: '203.0.113.7' },
    { name: 'two header lines are one list, one hop', lines: ['198.51.100.1, 198.51.100.2', '203.0.113.7'], hops: 1, expected: '203.0.113.7' },
    { name: 'two header lines are one list, two hops', lines: ['198.51.100.1, 203.0.113.7', '10.0.0.2'], hops: 2, expected: '203.0.113.7' },
    { name: 'fewer entries than hops: the left-most', lines: ['203.0.113.7, 10.0.0.2'], hops: 3, expected: '203.0.113.7' },
    { name: 'an IPv6 entry is kept as written', lines: ['198.51.100.1, 2001:db8::7'], hops: 1, expected: '2001:db8::7' },
    { name: 'an IPv4-mapped entry is plain IPv4', lines: ['198.51.100.1, ::ffff:203.0.113.7'], hops: 1, expected: '203.0.113.7' },
    { name: 'an empty header', lines: [''], hops: 1, expected: SOCKET },
    { name: 'an empty entry where the client should be', lines: ['203.0.113.7, '], hops: 1, expected: SOCKET },
    { name: 'a whitespace entry where the client should be', lines: ['203.0.113.7,   , 10.0.0.2'], hops: 2, expected: SOCKET },
    { name: 'fewer entries than hops, the left-most empty', lines: [', 10.0.0.2'], hops: 3, expected: SOCKET },
  ])('$name', async ({ lines, hops, expected }) => {
    expect(await addressFor(lines, hops)).toBe(expected);
  });

  it('gives an IPv4-mapped socket address (a dual-stack listener) as plain IPv4', () => {
    const request = { headers: {}, socket: { remoteAddress: '::ffff:127.0.0.1' } };
    expect(clientAddress(request, 0)).toBe('127.0.0.1');
    expect(clientAddress(request, 1)).toBe('127.0.0.1');
    expect(clientAddress({ headers: {}, socket: { remoteAddress: '::1' } }, 0)).toBe('::1');
  });

  it('reads header lines handed over as an array (a hand-built request) as one list', () => {
    const request = { headers: { 'x-forwarded-for': ['198.51.100.1, 203.0.113.7', '10.0.0.2'] }, socket: { remoteAddress: SOCKET } };
    expect(clientAddress(request, 2)).toBe('203.0.113.7');
    expect(clientAddress(request, 1)).toBe('10.0.0.2');
  });
});
