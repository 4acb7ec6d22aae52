// Shared-buffer reads on real loopback sockets: heartbeats go to the owner, every other byte reaches 'data' intact.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { readIntoSharedBuffer, setHeartbeatHandler } from '../../src/transport/shared-reads.js';

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  setHeartbeatHandler(() => false);
});

function maskedFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((byte, i) => byte ^ mask[i & 3]!))]);
}

/** A connected pair: `accepted` reads into the shared buffer on behalf of `owner`, and records its 'data'. */
async function pair(owner: object): Promise<{ client: Socket; accepted: Socket; received: Buffer[]; installed: boolean }> {
  const received: Buffer[] = [];
  const accepted = new Promise<{ socket: Socket; installed: boolean }>((resolve) => {
    server = createServer((socket) => {
      sockets.push(socket);
      const installed = readIntoSharedBuffer(socket, owner);
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      resolve({ socket, installed });
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const client = connect((server!.address() as { port: number }).port, '127.0.0.1');
  client.setNoDelay(true);
  sockets.push(client);
  const { socket, installed } = await accepted;
  return { client, accepted: socket, received, installed };
}

function writeAlone(socket: Socket, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => socket.write(bytes, () => setImmediate(resolve)));
}

describe('shared-buffer reads', () => {
  it('installs on a plain TCP socket of this Node', async () => {
    const { installed } = await pair({});
    expect(installed).toBe(true);
  });

  it('hands a lone heartbeat frame to its owner instead of emitting data', async () => {
    const owner = {};
    const seen: object[] = [];
    setHeartbeatHandler((who) => (seen.push(who), true));
    const { client, received } = await pair(owner);
    await writeAlone(client, maskedFrame('{"type":"HEARTBEAT"}'));
    await expect.poll(() => seen.length, { timeout: 2000 }).toBe(1);
    expect(seen[0]).toBe(owner);
    expect(received).toEqual([]);
  });

  it('passes a heartbeat on as data when the owner declines it', async () => {
    setHeartbeatHandler(() => false);
    const frame = maskedFrame('{"type":"HEARTBEAT"}');
    const { client, received } = await pair({});
    await writeAlone(client, frame);
    await expect.poll(() => Buffer.concat(received).equals(frame), { timeout: 2000 }).toBe(true);
  });

  it('passes on other frames of heartbeat length, and heartbeats with more bytes behind them', async () => {
    let taken = 0;
    setHeartbeatHandler(() => (taken++, true));
    const lookalike = maskedFrame('{"type":"HEARTBEAX"}');
    const twoFrames = Buffer.concat([maskedFrame('{"type":"HEARTBEAT"}'), maskedFrame('{"type":"HEARTBEAT"}')]);
    const { client, received } = await pair({});
    await writeAlone(client, lookalike);
    await writeAlone(client, twoFrames);
    const expected = Buffer.concat([lookalike, twoFrames]);
    await expect.poll(() => Buffer.concat(received).equals(expected), { timeout: 2000 }).toBe(true);
    expect(taken).toBe(0);
  });

  it('delivers a large stream byte for byte although every read reuses one buffer', async () => {
    setHeartbeatHandler(() => true);
    const { client, received } = await pair({});
    const payload = randomBytes(3 * 1024 * 1024);
    client.end(payload);
    await expect.poll(() => received.reduce((sum, chunk) => sum + chunk.length, 0), { timeout: 10_000 }).toBe(payload.length);
    expect(received.length).toBeGreaterThan(1);
    expect(Buffer.concat(received).equals(payload)).toBe(true);
  });

  it('reads nothing while paused, then everything once resumed', async () => {
    const { client, accepted, received } = await pair({});
    accepted.pause();
    // Small enough to sit in the kernel's socket buffers, so the write completes although nobody reads.
    const payload = randomBytes(48 * 1024);
    await writeAlone(client, payload);
    expect(received.length).toBe(0);
    accepted.resume();
    await expect.poll(() => received.reduce((sum, chunk) => sum + chunk.length, 0), { timeout: 10_000 }).toBe(payload.length);
    expect(Buffer.concat(received).equals(payload)).toBe(true);
  });

  it('leaves a TLS socket alone', () => {
    const fake = { encrypted: true, _handle: { useUserBuffer: () => {} } } as unknown as Socket;
    expect(readIntoSharedBuffer(fake, {})).toBe(false);
  });
});
