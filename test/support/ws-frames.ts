// WebSocket frames by hand, for tests that talk to the server over bare TCP: masked client frames out, server frames in.
import { randomBytes } from 'node:crypto';

/**
 * A client frame (clients must mask, RFC 6455 5.3). A zero mask leaves the payload as it is, which
 * flood tests use to build megabytes of frames cheaply.
 */
export function clientFrame(opcode: number, payload: Buffer, mask: Buffer = randomBytes(4)): Buffer {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) header = Buffer.from([0x80 | opcode, 0x80 | length]);
  else if (length < 65536) header = Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]);
  else {
    header = Buffer.from([0x80 | opcode, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0]);
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([header, mask, masked]);
}

export interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** The first complete (unmasked) server frame in `buffer` and the bytes after it, or undefined while it is incomplete. */
export function takeServerFrame(buffer: Buffer): { frame: ServerFrame; rest: Buffer } | undefined {
  if (buffer.length < 2) return undefined;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  if (buffer.length < offset + length) return undefined;
  return { frame: { opcode: buffer[0]! & 0x0f, payload: buffer.subarray(offset, offset + length) }, rest: buffer.subarray(offset + length) };
}

/** The close code in a close frame's payload (1005 when it has none). */
export function closeCode(payload: Buffer): number {
  return payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
}
