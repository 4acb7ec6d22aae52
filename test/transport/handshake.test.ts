// The opening handshake: RFC 6455's example accept value, and refusals of bad handshakes over a real socket.
import { connect } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { handshakeProblem, switchingProtocols } from '../../src/transport/handshake.js';
import { createSignalServer, type SignalServer } from '../../src/server.js';

function request(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

describe('handshake checks', () => {
  it('answers the RFC 6455 example key with its accept value', () => {
    const response = switchingProtocols(request('GET', { 'sec-websocket-key': RFC_KEY, 'sec-websocket-version': '13' }));
    expect(response).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    );
  });

  it('accepts versions 13 and 8, and refuses others, bad keys and other methods', () => {
    const ok = (method: string, key: string | undefined, version: string | undefined) => {
      const headers: Record<string, string> = {};
      if (key !== undefined) headers['sec-websocket-key'] = key;
      if (version !== undefined) headers['sec-websocket-version'] = version;
      return handshakeProblem(request(method, headers));
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

  it('refuses an unsupported version with 400', async () => {
    const response = await rawUpgrade('GET', `Sec-WebSocket-Key: ${RFC_KEY}\r\nSec-WebSocket-Version: 7\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
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
