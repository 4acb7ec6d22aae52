// The opening handshake: RFC 6455's example accept value, and refusals of bad handshakes over a real socket.
import { connect } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { chosenProtocol, handshakeProblem, switchingProtocols } from '../../src/transport/handshake.js';
import { createSignalServer, type SignalServer } from '../../src/server.js';

function request(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

describe('handshake checks', () => {
  it('answers the RFC 6455 example key with its accept value', () => {
    const response = switchingProtocols(request('GET', { 'sec-websocket-key': RFC_KEY, 'sec-websocket-version': '13' }), undefined);
    expect(response).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    );
  });

  it('accepts versions 13 and 8, and refuses others, bad keys and other methods', () => {
    const ok = (method: string, key: string | undefined, version: string | undefined) => {
      const headers: Record<string, string> = {};
      if (key !== undefined) headers['sec-websocket-key'] = key;
      if (version !== undefined) headers['sec-websocket-version'] = version;
      return handshakeProblem(request(method, headers))?.reason;
    };
    expect(ok('GET', RFC_KEY, '13')).toBeUndefined();
    expect(ok('GET', RFC_KEY, '8')).toBeUndefined();
    expect(ok('GET', RFC_KEY, ' 13 ')).toBeUndefined();
    expect(ok('GET', RFC_KEY, '7')).toMatch(/Sec-WebSocket-Version/);
    expect(ok('GET', RFC_KEY, undefined)).toMatch(/Sec-WebSocket-Version/);
    expect(ok('GET', undefined, '13')).toMatch(/Sec-WebSocket-Key/);
    expect(ok('GET', 'short==', '13')).toMatch(/Sec-WebSocket-Key/);
    expect(ok('GET', `${RFC_KEY}x`, '13')).toMatch(/Sec-WebSocket-Key/);
    expect(ok('POST', RFC_KEY, '13')).toMatch(/GET/);
  });

  it('names the supported versions when refusing one (RFC 6455 §4.2.2)', () => {
    const refusal = handshakeProblem(request('GET', { 'sec-websocket-key': RFC_KEY, 'sec-websocket-version': '7' }));
    expect(refusal).toMatchObject({ status: 400, headers: 'Sec-WebSocket-Version: 13, 8\r\n' });
  });

  it('agrees to the first offered subprotocol and refuses malformed offers', () => {
    const withProtocols = (value: string) =>
      request('GET', { 'sec-websocket-key': RFC_KEY, 'sec-websocket-version': '13', 'sec-websocket-protocol': value });
    expect(chosenProtocol(withProtocols('chat, superchat'))).toBe('chat');
    expect(switchingProtocols(withProtocols('chat'), 'chat')).toContain('\r\nSec-WebSocket-Protocol: chat\r\n\r\n');
    expect(handshakeProblem(withProtocols('chat, superchat'))).toBeUndefined();
    expect(handshakeProblem(withProtocols('chat, chat'))?.reason).toMatch(/Sec-WebSocket-Protocol/);
    expect(handshakeProblem(withProtocols('bad name'))?.reason).toMatch(/Sec-WebSocket-Protocol/);
    expect(chosenProtocol(request('GET', { 'sec-websocket-key': RFC_KEY, 'sec-websocket-version': '13' }))).toBeUndefined();
  });
});

let server: SignalServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Sends one raw upgrade request and resolves with everything the server wrote before closing. */
async function rawUpgrade(method: string, extraHeaders: string): Promise<string> {
  server ??= createSignalServer({ host: '127.0.0.1', port: 0 });
  if (server.address() === null) await server.listen();
  const socket = connect(server.address()!.port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(
    `${method} /peerjs/peerjs?key=peerjs&id=hs&token=t HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extraHeaders}\r\n`,
  );
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, 3000).unref());
  await Promise.race([closed, deadline]);
  socket.destroy();
  return received;
}

describe('refused handshakes on a running server', () => {
  it('refuses a bad key with 400 and closes', async () => {
    const response = await rawUpgrade('GET', 'Sec-WebSocket-Key: nope\r\nSec-WebSocket-Version: 13\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(response).toContain('Sec-WebSocket-Key');
  });

  it('refuses an unsupported version with 400 and the versions it speaks', async () => {
    const response = await rawUpgrade('GET', `Sec-WebSocket-Key: ${RFC_KEY}\r\nSec-WebSocket-Version: 7\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(response).toContain('\r\nSec-WebSocket-Version: 13, 8\r\n');
  });

  it('lets a client that offers subprotocols connect, with the first one agreed', async () => {
    server = createSignalServer({ host: '127.0.0.1', port: 0 });
    await server.listen();
    const client = new WebSocket(`ws://127.0.0.1:${server.address()!.port}/peerjs/peerjs?key=peerjs&id=proto&token=t`, ['chat', 'other']);
    try {
      const first = await new Promise<string>((resolve, reject) => {
        client.once('message', (data) => resolve(String(data)));
        client.once('error', reject);
      });
      expect(first).toBe('{"type":"OPEN"}');
      expect(client.protocol).toBe('chat');
    } finally {
      client.terminate();
    }
  });

  it('refuses a POST upgrade with 405', async () => {
    const response = await rawUpgrade('POST', `Sec-WebSocket-Key: ${RFC_KEY}\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 405 /);
  });

  it('upgrades a good handshake and sends OPEN in the same write as the 101', async () => {
    server = createSignalServer({ host: '127.0.0.1', port: 0 });
    await server.listen();
    const socket = connect(server.address()!.port, '127.0.0.1');
    const chunks: string[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.write(
      `GET /peerjs/peerjs?key=peerjs&id=hs2&token=t HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await expect.poll(() => chunks.join('').includes('{"type":"OPEN"}'), { timeout: 3000 }).toBe(true);
    socket.destroy();
    const all = chunks.join('');
    expect(all).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(all).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');
    // One segment on loopback: the 101 and OPEN arrive as one chunk.
    expect(chunks[0]).toContain('{"type":"OPEN"}');
  });
});
