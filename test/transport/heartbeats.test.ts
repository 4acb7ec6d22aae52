// Heartbeats over a hand-made WebSocket client, end to end: one frame per TCP write (shared-reads.ts takes it), split frames (ws takes them), the rate limit.
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import type { Config } from '../../src/config.js';

let server: SignalServer | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
});

/** A masked client text frame, built by hand so that each frame can be written on its own. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i & 3]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

interface RawPeer {
  socket: Socket;
  /** Everything received after the handshake, as text (frames are short and unmasked, so JSON is readable). */
  received(): string;
  closed: Promise<void>;
}

async function rawPeer(start: Partial<Config>, id: string): Promise<RawPeer> {
  server ??= createSignalServer({ host: '127.0.0.1', port: 0, ...start });
  if (server.address() === null) await server.listen();
  const socket = connect(server.address()!.port, '127.0.0.1');
  sockets.push(socket);
  socket.setNoDelay(true);
  let data = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `GET /peerjs/peerjs?key=peerjs&id=${id}&token=t HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await expect.poll(() => data.toString('latin1').includes('{"type":"OPEN"}'), { timeout: 3000 }).toBe(true);
  const headerEnd = data.indexOf('\r\n\r\n') + 4;
  return { socket, received: () => data.subarray(headerEnd).toString('latin1'), closed };
}

/** Writes one buffer and waits until it has left this process, so the server reads it as its own chunk. */
function writeAlone(socket: Socket, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => socket.write(bytes, () => setImmediate(resolve)));
}

describe('heartbeat fast path', () => {
  it('a heartbeat written as its own TCP segment keeps a silent peer alive', async () => {
    const peer = await rawPeer({ aliveTimeoutMs: 300 }, 'beater');
    const heartbeat = clientFrame('{"type":"HEARTBEAT"}');
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      await writeAlone(peer.socket, heartbeat);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Pings went unanswered (this client never pongs): only the heartbeats kept it registered.
    expect(server!.peerCount).toBe(1);
    expect(peer.socket.destroyed).toBe(false);
  });

  it('a heartbeat split across two writes takes the normal path and still counts', async () => {
    const peer = await rawPeer({ aliveTimeoutMs: 300 }, 'splitter');
    const heartbeat = clientFrame('{"type":"HEARTBEAT"}');
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      await writeAlone(peer.socket, heartbeat.subarray(0, 13));
      await writeAlone(peer.socket, heartbeat.subarray(13));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(server!.peerCount).toBe(1);
  });

  it('single-segment heartbeats count against the rate limit', async () => {
    const peer = await rawPeer({ rateLimitPerSec: 1, rateBurst: 5 }, 'flooder');
    const heartbeat = clientFrame('{"type":"HEARTBEAT"}');
    for (let i = 0; i < 20 && !peer.received().includes('Rate limit exceeded'); i++) await writeAlone(peer.socket, heartbeat);
    await expect.poll(() => peer.received(), { timeout: 3000 }).toContain('Rate limit exceeded');
    await peer.closed;
  });
});
