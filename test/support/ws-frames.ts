// WebSocket frames by hand, for tests that talk to the server over bare TCP: masked client frames out, server frames in.
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';

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

/** A WebSocket client on a bare TCP socket: the handshake and the frames by hand, so a test controls every byte and every answer. */
export interface RawWebSocket {
  readonly socket: Socket;
  /** Resolves once the server answered 101; rejects with its status line otherwise. */
  readonly upgraded: Promise<void>;
  /** The text frames received so far, in order. */
  readonly texts: string[];
  /** Resolves with the first text frame (seen or future) that passes `test`; rejects once the connection closed first. */
  text(test: (text: string) => boolean): Promise<string>;
  /** Resolves with the code of the server's close frame. */
  readonly closeFrame: Promise<number>;
  /** Resolves once the TCP connection closed. */
  readonly closed: Promise<void>;
}

export interface RawWebSocketOptions {
  /** Client frames written in the same write as the upgrade request: they reach the server before any answer can. */
  withUpgrade?: readonly Buffer[];
  /** Answer the server's close frame, completing the closing handshake (default), or never answer it (a stuck client). */
  answerClose?: boolean;
}

/** Opens `url` (ws://host:port/path?query) on a bare TCP socket; the caller destroys `socket` when done. */
export function rawWebSocket(url: string, options: RawWebSocketOptions = {}): RawWebSocket {
  const target = new URL(url);
  const socket = netConnect(Number(target.port), target.hostname);
  socket.on('error', () => {});
  const texts: string[] = [];
  const waiters = new Set<() => void>();
  let buffer: Buffer = Buffer.alloc(0);
  let isUpgraded = false;
  let onUpgraded: () => void = () => {};
  let onRefused: (error: Error) => void = () => {};
  let onCloseFrame: (code: number) => void = () => {};
  const upgraded = new Promise<void>((resolve, reject) => {
    onUpgraded = resolve;
    onRefused = reject;
  });
  upgraded.catch(() => {});
  const closeFrame = new Promise<number>((resolve) => (onCloseFrame = resolve));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.once('close', () => {
    onRefused(new Error('the connection closed before the upgrade'));
    for (const waiter of [...waiters]) waiter();
  });
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!isUpgraded) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buffer.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) {
        onRefused(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
        socket.destroy();
        return;
      }
      isUpgraded = true;
      onUpgraded();
      buffer = buffer.subarray(end + 4);
    }
    for (let taken = takeServerFrame(buffer); taken !== undefined; taken = takeServerFrame(buffer)) {
      buffer = taken.rest;
      const { opcode, payload } = taken.frame;
      if (opcode === 0x1) texts.push(payload.toString('utf8'));
      if (opcode === 0x8) {
        onCloseFrame(closeCode(payload));
        if (options.answerClose !== false && !socket.destroyed) socket.write(clientFrame(0x8, payload.subarray(0, 2)));
      }
    }
    for (const waiter of [...waiters]) waiter();
  });
  const request =
    `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  socket.write(Buffer.concat([Buffer.from(request, 'latin1'), ...(options.withUpgrade ?? [])]));
  return {
    socket,
    upgraded,
    texts,
    closeFrame,
    closed,
    text(test) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = texts.find(test);
          if (found !== undefined) {
            waiters.delete(check);
            resolve(found);
          } else if (socket.destroyed) {
            waiters.delete(check);
            reject(new Error(`the connection closed without the expected frame; got ${JSON.stringify(texts)}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
