// Upgrades taken from a connection's first read, and everything else handed to Node's HTTP server
// intact: a real http.Server on loopback, raw sockets writing exactly the bytes each case needs.
import { Server as HttpServer, createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { existsSync, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { takeDirectUpgrades, type DirectUpgrades } from '../../src/transport/direct-upgrades.js';
import type { UpgradeRequest } from '../../src/transport/handshake.js';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import { within } from '../support/deadline.js';

const UPGRADE_HEAD =
  'GET /ws?id=a HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

interface Harness {
  server: Server;
  port: number;
  direct: DirectUpgrades;
  /** Upgrades taken from the first read, with the bytes that followed the head. */
  taken: { request: UpgradeRequest; head: Buffer }[];
  /** Upgrades Node's parser produced ('upgrade' events). */
  viaNode: { request: IncomingMessage; head: Buffer }[];
  /** Every accepted connection, server side. */
  accepted: Socket[];
}

let harness: Harness | undefined;
let signal: SignalServer | undefined;
const clients: Socket[] = [];

afterEach(async () => {
  for (const socket of clients.splice(0)) socket.destroy();
  if (harness !== undefined) {
    harness.direct.close();
    for (const socket of harness.accepted) socket.destroy();
    await new Promise<void>((resolve) => harness!.server.close(() => resolve()));
    harness = undefined;
  }
  await signal?.close();
  signal = undefined;
});

/** An HTTP server answering every request with its method, url and body, with direct upgrades on /ws. */
async function start(timeoutMs = 10_000): Promise<Harness> {
  const server = createServer((request, response) => {
    const body: Buffer[] = [];
    request.on('data', (chunk: Buffer) => body.push(chunk));
    request.on('end', () => response.end(JSON.stringify({ method: request.method, url: request.url, length: Buffer.concat(body).length })));
  });
  const taken: Harness['taken'] = [];
  const viaNode: Harness['viaNode'] = [];
  const accepted: Socket[] = [];
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    viaNode.push({ request, head });
    socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\nvia-node');
  });
  const direct = takeDirectUpgrades(server, {
    takes: (url) => url.startsWith('/ws'),
    upgrade: (request, socket, head) => {
      taken.push({ request, head });
      socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\ndirect');
    },
    timeoutMs,
  });
  if (direct === undefined) throw new Error('direct upgrades did not install');
  server.on('connection', (socket: Socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  harness = { server, port: (server.address() as { port: number }).port, direct, taken, viaNode, accepted };
  return harness;
}

/** Waits until the first connection is Node's: its server gives a socket it parses a `parser`. */
async function handedToNode(h: Harness): Promise<void> {
  await expect.poll(() => (h.accepted[0] as (Socket & { parser?: unknown }) | undefined)?.parser, { timeout: 2000 }).toBeTruthy();
}

/**
 * A complete HTTP exchange on another connection: the server has run its event loop at least once
 * since, so a piece written before this was read on its own (loopback delivers in order per socket).
 */
async function roundTripThroughServer(port: number): Promise<void> {
  const other = await rawClient(port);
  other.socket.write('GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await within(other.closed, 2000, 'a round trip through the server');
}

/** A raw client whose received bytes and close are recorded. */
async function rawClient(port: number): Promise<{ socket: Socket; text: () => string; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  clients.push(socket);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await within(new Promise((resolve) => socket.once('connect', resolve)), 2000, 'connect');
  return { socket, text: () => received, closed };
}

describe('direct upgrades', () => {
  it('takes an upgrade whose head arrives in one read, with the bytes after it, and Node never parses it', async () => {
    const h = await start();
    const client = await rawClient(h.port);
    client.socket.write(Buffer.from(`${UPGRADE_HEAD}early frame`, 'latin1'));
    await within(client.closed, 2000, 'the direct answer');
    expect(client.text()).toBe('HTTP/1.1 101 Switching Protocols\r\n\r\ndirect');
    expect(h.viaNode).toHaveLength(0);
    expect(h.taken).toHaveLength(1);
    const { request, head } = h.taken[0]!;
    expect(request).toMatchObject({ method: 'GET', url: '/ws?id=a' });
    expect({ ...request.headers }).toEqual({
      host: '127.0.0.1',
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
    });
    expect(request.socket).toBe(h.accepted[0]);
    expect(head.toString()).toBe('early frame');
  });

  it('hands a head that comes in pieces to Node, which completes the upgrade with the bytes that followed', async () => {
    const h = await start();
    const client = await rawClient(h.port);
    client.socket.write(UPGRADE_HEAD.slice(0, -1));
    await handedToNode(h);
    client.socket.write(`${UPGRADE_HEAD.slice(-1)}after`);
    await within(client.closed, 2000, "Node's answer");
    expect(client.text()).toBe('HTTP/1.1 101 Switching Protocols\r\n\r\nvia-node');
    expect(h.taken).toHaveLength(0);
    expect(h.viaNode).toHaveLength(1);
    expect(h.viaNode[0]!.request.url).toBe('/ws?id=a');
    expect(h.viaNode[0]!.head.toString()).toBe('after');
  });

  it('hands a partial head to Node at once, bytes included', async () => {
    const h = await start();
    const client = await rawClient(h.port);
    client.socket.write('POST /ws HT');
    await handedToNode(h);
    client.socket.write('TP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc');
    await within(client.closed, 2000, "the request handler's answer");
    expect(client.text()).toContain('{"method":"POST","url":"/ws","length":3}');
    expect(h.taken).toHaveLength(0);
  });

  it('hands over a complete head it does not take (a repeated header), which Node upgrades', async () => {
    const h = await start();
    const client = await rawClient(h.port);
    client.socket.write(UPGRADE_HEAD.replace('\r\n\r\n', '\r\nX-A: 1\r\nX-A: 2\r\n\r\n'));
    await within(client.closed, 2000, "Node's answer");
    expect(client.text()).toBe('HTTP/1.1 101 Switching Protocols\r\n\r\nvia-node');
    expect(h.viaNode).toHaveLength(1);
    expect(h.viaNode[0]!.request.headers['x-a']).toBe('1, 2');
  });

  it('hands over upgrades to other paths, and requests to the taken path that do not ask to upgrade', async () => {
    const h = await start();
    const other = await rawClient(h.port);
    other.socket.write(UPGRADE_HEAD.replace('/ws?id=a', '/elsewhere'));
    await within(other.closed, 2000, "Node's answer");
    expect(other.text()).toContain('via-node');
    const plain = await rawClient(h.port);
    plain.socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await within(plain.closed, 2000, "the request handler's answer");
    expect(plain.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"method":"GET","url":"\/ws","length":0\}$/);
    expect(h.taken).toHaveLength(0);
  });

  it('leaves keep-alive requests and large bodies to Node, byte for byte', async () => {
    const h = await start();
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
    const ask = (method: string, path: string, body?: Buffer): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: h.port, method, path, agent }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      expect(JSON.parse(await within(ask('GET', '/a'), 2000, 'first request'))).toEqual({ method: 'GET', url: '/a', length: 0 });
      expect(JSON.parse(await within(ask('GET', '/b'), 2000, 'second request'))).toEqual({ method: 'GET', url: '/b', length: 0 });
      const body = Buffer.alloc(300_000, 7);
      expect(JSON.parse(await within(ask('POST', '/c', body), 5000, 'a 300 kB body'))).toEqual({ method: 'POST', url: '/c', length: body.length });
      // One connection served all three: the hand-over kept it.
      expect(h.accepted).toHaveLength(1);
    } finally {
      agent.destroy();
    }
  });

  it('answers 408 to a connection that sends nothing within the timeout', async () => {
    const h = await start(200);
    const client = await rawClient(h.port);
    const started = performance.now();
    await within(client.closed, 3000, 'the 408');
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(client.text()).toMatch(/^HTTP\/1\.1 408 /);
    expect(h.taken).toHaveLength(0);
    expect(h.viaNode).toHaveLength(0);
  });

  it('ends a connection the client closes before sending anything, at once and without an answer', async () => {
    const h = await start();
    const client = await rawClient(h.port);
    const ended = new Promise<void>((resolve) => client.socket.once('end', () => resolve()));
    client.socket.end();
    await within(ended, 1000, "the server's end");
    expect(client.text()).toBe('');
  });

  it("leaves a client that closes its side after part of a head to Node, which answers 400 at once", async () => {
    const h = await start();
    const client = await rawClient(h.port);
    client.socket.end(UPGRADE_HEAD.slice(0, 40));
    await within(client.closed, 1000, 'the 400');
    expect(client.text()).toMatch(/^HTTP\/1\.1 400 /);
  });

  it.runIf(existsSync('/proc/self/fd'))('holds no descriptor for clients that connect and close', async () => {
    await start();
    const before = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 50; i++) (await rawClient(harness!.port)).socket.destroy();
    // Well within the 10 s handshake timeout: the server lets go when the client does.
    await expect.poll(() => readdirSync('/proc/self/fd').length - before, { timeout: 3000 }).toBeLessThan(5);
  });

  it('close() frees connections still waiting for their first bytes', async () => {
    const h = await start();
    const client = await rawClient(h.port);
    await expect.poll(() => h.accepted.length, { timeout: 2000 }).toBe(1);
    h.direct.close();
    await within(client.closed, 2000, 'the close');
  });

  it('changes nothing when the server has other connection listeners', () => {
    const server = createServer();
    const mine = (): void => {};
    server.on('connection', mine);
    expect(takeDirectUpgrades(server, { takes: () => true, upgrade: () => {}, timeoutMs: 1000 })).toBeUndefined();
    expect(server.listeners('connection')).toHaveLength(2);
  });
});

/** A masked client text frame (zero mask: the payload bytes are the text's own). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length >= 126) throw new Error('short frames only');
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

describe('direct upgrades in the signaling server', () => {
  const head = (port: number, id: string, extra = '') =>
    `GET /peerjs/peerjs?key=peerjs&id=${id}&token=t HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

  it('relays both ways between a peer upgraded directly and one upgraded by Node', async () => {
    // Counts the 'upgrade' events Node's parser produces: the direct path makes none.
    let nodeUpgrades = 0;
    const emit = HttpServer.prototype.emit;
    HttpServer.prototype.emit = function (this: HttpServer, event: string | symbol, ...args: unknown[]) {
      if (event === 'upgrade') nodeUpgrades++;
      return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
    } as typeof emit;
    try {
      signal = createSignalServer({ host: '127.0.0.1', port: 0 });
      const { port } = await signal.listen();
      const direct = await rawClient(port);
      direct.socket.write(head(port, 'direct'));
      await expect.poll(() => direct.text(), { timeout: 2000 }).toContain('{"type":"OPEN"}');
      expect(nodeUpgrades).toBe(0);
      // A repeated header is valid HTTP that request-head.ts leaves to Node's parser.
      const viaNode = await rawClient(port);
      viaNode.socket.write(head(port, 'via-node', 'X-Repeated: 1\r\nX-Repeated: 2\r\n'));
      await expect.poll(() => viaNode.text(), { timeout: 2000 }).toContain('{"type":"OPEN"}');
      expect(nodeUpgrades).toBe(1);
      for (const client of [direct, viaNode]) expect(client.text()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      viaNode.socket.write(textFrame('{"type":"OFFER","dst":"direct","payload":{"sdp":"from node"}}'));
      await expect.poll(() => direct.text(), { timeout: 2000 }).toContain('"src":"via-node"');
      expect(direct.text()).toContain('"sdp":"from node"');
      direct.socket.write(textFrame('{"type":"ANSWER","dst":"via-node","payload":{"sdp":"from direct"}}'));
      await expect.poll(() => viaNode.text(), { timeout: 2000 }).toContain('"src":"direct"');
      expect(viaNode.text()).toContain('"sdp":"from direct"');
      expect(signal.peerCount).toBe(2);
    } finally {
      HttpServer.prototype.emit = emit;
    }
  });

  // Both found by a review of a version that collected heads in pieces itself: Node answers these, at its own times.
  it('answers a head with bare LF line endings with 400 at once, as Node does', async () => {
    signal = createSignalServer({ host: '127.0.0.1', port: 0, handshakeTimeoutMs: 2000 });
    const { port } = await signal.listen();
    const client = await rawClient(port);
    const started = performance.now();
    client.socket.write('GET /peerjs/id HTTP/1.1\nHost: x\n\n');
    await within(client.closed, 4000, 'an answer');
    expect(client.text()).toMatch(/^HTTP\/1\.1 400 /);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('cuts off a slowly trickled head at the handshake timeout from its first byte, as Node does', async () => {
    const timeoutMs = 1000;
    signal = createSignalServer({ host: '127.0.0.1', port: 0, handshakeTimeoutMs: timeoutMs });
    const { port } = await signal.listen();
    const client = await rawClient(port);
    const started = performance.now();
    let closedAt = 0;
    void client.closed.then(() => (closedAt = performance.now() - started));
    client.socket.write('GET /peerjs/peerjs?key=peerjs&id=slow&token=t HTTP/1.1\r\nHost: x\r\nX-Pad: ');
    // The client's pace, not a synchronisation: about 10 KiB over the first second, then a byte every 50 ms.
    const pace = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    for (let i = 0; closedAt === 0 && performance.now() - started < 4000; i++) {
      client.socket.write(i < 20 ? 'a'.repeat(500) : 'a');
      await pace(50);
    }
    expect(client.text()).toMatch(/^HTTP\/1\.1 408 /);
    // Node's parser checks every quarter of the timeout.
    expect(closedAt).toBeLessThan(timeoutMs * 1.5);
  });

  it('closes promptly while a connection has sent nothing yet', async () => {
    signal = createSignalServer({ host: '127.0.0.1', port: 0, handshakeTimeoutMs: 60_000 });
    const { port } = await signal.listen();
    const silent = await rawClient(port);
    await roundTripThroughServer(port);
    await within(signal.close(), 3000, 'close() with a silent connection');
    await within(silent.closed, 2000, 'the silent connection closed');
    signal = undefined;
  });
});
