// Shared-buffer reads on real loopback sockets: complete text frames go to the taker, every other byte reaches 'data' intact.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { readIntoSharedBuffer, setFrameTaker } from '../../src/transport/shared-reads.js';
import { completeTextFrame, toggleMask } from '../../src/transport/client-frames.js';

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  setFrameTaker({ maxPayload: () => -1, text: () => {} });
});

/** A masked client frame; `first` is FIN + opcode (0x81 text, 0x82 binary, 0x89 ping). */
function maskedFrame(payload: Buffer | string, first = 0x81, mask = randomBytes(4)): Buffer {
  const bytes = Buffer.from(payload);
  const length = bytes.length;
  const header = length < 126 ? Buffer.from([first, 0x80 | length]) : Buffer.from([first, 0x80 | 126, length >> 8, length & 0xff]);
  return Buffer.concat([header, mask, Buffer.from(bytes.map((byte, i) => byte ^ mask[i & 3]!))]);
}

/** Records what the taker got; `accept` decides maxPayload (-1 refuses). */
function recordingTaker(accept: number = 65536): string[] {
  const taken: string[] = [];
  setFrameTaker({ maxPayload: () => accept, text: (_owner, payload) => taken.push(payload.toString()) });
  return taken;
}

/** A connected pair: `accepted` reads into the shared buffer on behalf of `owner`, and records its 'data'. */
async function pair(owner: object = {}): Promise<{ client: Socket; accepted: Socket; received: Buffer[]; installed: boolean }> {
  const received: Buffer[] = [];
  const accepted = new Promise<{ socket: Socket; installed: boolean }>((resolve) => {
    server = createServer((socket) => {
      sockets.push(socket);
      const installed = readIntoSharedBuffer(socket, owner);
      socket.on('data', (chunk: Buffer) => received.push(Buffer.from(chunk)));
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

const receivedBytes = (received: Buffer[]): Buffer => Buffer.concat(received);

describe('shared-buffer reads', () => {
  it('installs on a plain TCP socket of this Node', async () => {
    const { installed } = await pair();
    expect(installed).toBe(true);
  });

  it('hands complete text frames, several per read, to the taker unmasked, and emits no data', async () => {
    const owner = {};
    const owners: object[] = [];
    const taken: string[] = [];
    setFrameTaker({ maxPayload: () => 65536, text: (who, payload) => (owners.push(who), taken.push(payload.toString())) });
    const { client, received } = await pair(owner);
    const sdp = JSON.stringify({ type: 'OFFER', dst: 'b', payload: { sdp: 'v=0\r\n'.repeat(700) } });
    await writeAlone(client, Buffer.concat([maskedFrame('{"type":"HEARTBEAT"}'), maskedFrame(sdp), maskedFrame('ünïcödé ✓')]));
    await expect.poll(() => taken.length, { timeout: 2000 }).toBe(3);
    expect(taken).toEqual(['{"type":"HEARTBEAT"}', sdp, 'ünïcödé ✓']);
    expect(owners.every((who) => who === owner)).toBe(true);
    expect(received).toEqual([]);
  });

  it('passes everything on as data, byte for byte, when the taker refuses', async () => {
    recordingTaker(-1);
    const bytes = Buffer.concat([maskedFrame('{"type":"HEARTBEAT"}'), maskedFrame('hello')]);
    const { client, received } = await pair();
    await writeAlone(client, bytes);
    await expect.poll(() => receivedBytes(received).equals(bytes), { timeout: 2000 }).toBe(true);
  });

  it('stops at the first frame it does not take and passes the rest on intact', async () => {
    const taken = recordingTaker(1024);
    const ping = maskedFrame('p', 0x89);
    const binary = maskedFrame(Buffer.from([1, 2, 3]), 0x82);
    const oversized = maskedFrame('x'.repeat(2000));
    const invalidUtf8 = maskedFrame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    // A frame cut short: its header promises more payload than the rest of the read holds. (Cut to a
    // few bytes of a short frame, the next frame's bytes would complete it as garbage: a stream has no
    // other frame boundaries, and about one run in a hundred that garbage was valid UTF-8.)
    const cutShort = maskedFrame('x'.repeat(100)).subarray(0, 5);
    const cases = [ping, binary, oversized, invalidUtf8, cutShort];
    const { client, received } = await pair();
    const expected: Buffer[] = [];
    for (const [i, stopper] of cases.entries()) {
      const rest = Buffer.concat([stopper, maskedFrame(`after ${i}`)]);
      // Each case on its own: the taker sees the frame before the stopper, ws (here: 'data') the rest.
      received.length = 0;
      await writeAlone(client, Buffer.concat([maskedFrame(`before ${i}`), rest]));
      await expect.poll(() => receivedBytes(received).equals(rest), { timeout: 2000 }).toBe(true);
      expected.push(Buffer.from(`before ${i}`));
    }
    expect(taken).toEqual(expected.map(String));
  });

  it('delivers a large stream byte for byte although every read reuses one buffer', async () => {
    recordingTaker(-1);
    const { client, received } = await pair();
    const payload = randomBytes(3 * 1024 * 1024);
    client.end(payload);
    await expect.poll(() => received.reduce((sum, chunk) => sum + chunk.length, 0), { timeout: 10_000 }).toBe(payload.length);
    expect(received.length).toBeGreaterThan(1);
    expect(receivedBytes(received).equals(payload)).toBe(true);
  });

  it('reads nothing while paused, then everything once resumed', async () => {
    recordingTaker(-1);
    const { client, accepted, received } = await pair();
    accepted.pause();
    // Small enough to sit in the kernel's socket buffers, so the write completes although nobody reads.
    const payload = randomBytes(48 * 1024);
    await writeAlone(client, payload);
    expect(received.length).toBe(0);
    accepted.resume();
    await expect.poll(() => received.reduce((sum, chunk) => sum + chunk.length, 0), { timeout: 10_000 }).toBe(payload.length);
    expect(receivedBytes(received).equals(payload)).toBe(true);
  });

  it('leaves a TLS socket alone', () => {
    const fake = { encrypted: true, _handle: { useUserBuffer: () => {} } } as unknown as Socket;
    expect(readIntoSharedBuffer(fake, {})).toBe(false);
  });
});

describe('client frames', () => {
  it('unmasks like the byte-by-byte definition at every length and alignment, and masks back', () => {
    const memory = Buffer.allocUnsafeSlow(512);
    const words = new Uint32Array(memory.buffer, memory.byteOffset, memory.length >>> 2);
    for (let start = 0; start < 8; start++) {
      for (let length = 0; length < 70; length++) {
        const original = randomBytes(length);
        const maskBytes = randomBytes(4);
        const mask = maskBytes.readUInt32LE(0);
        original.copy(memory, start);
        toggleMask(memory, words, start, start + length, mask);
        const expected = Buffer.from(original.map((byte, i) => byte ^ maskBytes[i & 3]!));
        expect(memory.subarray(start, start + length).equals(expected), `start ${start} length ${length}`).toBe(true);
        toggleMask(memory, words, start, start + length, mask);
        expect(memory.subarray(start, start + length).equals(original)).toBe(true);
      }
    }
  });

  it('finds complete masked text frames with 7- and 16-bit lengths, and nothing else', () => {
    const short = maskedFrame('hi');
    expect(completeTextFrame(short, 0, short.length, 100)).toMatchObject({ start: 6, end: 8 });
    const medium = maskedFrame('m'.repeat(300));
    expect(completeTextFrame(medium, 0, medium.length, 1000)).toMatchObject({ start: 8, end: 308 });
    expect(completeTextFrame(medium, 0, medium.length - 1, 1000)).toBeUndefined();
    expect(completeTextFrame(medium, 0, medium.length, 299)).toBeUndefined();
    const unmasked = Buffer.from([0x81, 0x02, 0x68, 0x69, 0, 0, 0, 0]);
    expect(completeTextFrame(unmasked, 0, unmasked.length, 100)).toBeUndefined();
    const notFinal = Buffer.from(maskedFrame('hi', 0x01));
    expect(completeTextFrame(notFinal, 0, notFinal.length, 100)).toBeUndefined();
    const rsv = Buffer.from(maskedFrame('hi', 0xc1));
    expect(completeTextFrame(rsv, 0, rsv.length, 100)).toBeUndefined();
  });
});
