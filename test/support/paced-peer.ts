// A signaling peer over a bare TCP socket that reads at a pace the test sets: handshake and frames written and parsed by hand.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { SignalServer } from '../../src/server.js';
import { clientFrame, closeCode, takeServerFrame } from './ws-frames.js';

export interface PacedPeer {
  readonly socket: Socket;
  /** Text frames received so far, in order. */
  readonly texts: string[];
  /** Bytes taken off the socket so far (frames and headers). */
  readonly bytesRead: () => number;
  /** The close code the server sent, once it sent one. */
  readonly closeCode: () => number | undefined;
  /** Resolves when the TCP connection is gone. */
  readonly closed: Promise<void>;
  /** Reads at most this many bytes per second from now on: 0 stops reading, Infinity reads as fast as it can. */
  readAt(bytesPerSecond: number): void;
  /** Sends a masked text frame. */
  send(text: string): void;
  /** Stops the pacing timer and destroys the socket. */
  destroy(): void;
}

/**
 * Connects as `id` and resolves once the server's OPEN (or first frame) arrived. Reading starts
 * unlimited; call readAt() to slow it down. The socket stays in paused mode, so what the test does
 * not read backs up in the kernel and then in the server, as with a slow client.
 */
export async function connectPaced(server: SignalServer, id: string, token = `token-${id}`): Promise<PacedPeer> {
  const address = server.address();
  if (address === null) throw new Error('server is not listening');
  const prefix = server.config.path === '/' ? '' : server.config.path;
  const socket = connect(address.port, '127.0.0.1');
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const texts: string[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let handshakeDone = false;
  let read = 0;
  let closeCodeSeen: number | undefined;
  let rate = Infinity;
  let budget = 0;
  let refilledAt = performance.now();
  let onFirstFrame: (() => void) | undefined;
  let onHandshakeFailure: ((error: Error) => void) | undefined;

  const parse = (): void => {
    if (!handshakeDone) {
      const end = pending.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = pending.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) onHandshakeFailure?.(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
      handshakeDone = true;
      pending = pending.subarray(end + 4);
    }
    for (;;) {
      const taken = takeServerFrame(pending);
      if (taken === undefined) return;
      pending = taken.rest;
      const { opcode, payload } = taken.frame;
      if (opcode === 0x1) {
        texts.push(payload.toString('utf8'));
        onFirstFrame?.();
      } else if (opcode === 0x8) {
        closeCodeSeen = closeCode(payload);
      } else if (opcode === 0x9) {
        socket.write(clientFrame(0xa, Buffer.from(payload)));
      }
    }
  };

  const pump = (): void => {
    for (;;) {
      let chunk: Buffer | null;
      if (rate === Infinity) {
        chunk = socket.read() as Buffer | null;
      } else {
        const now = performance.now();
        // At most a tenth of a second of budget, so a stalled timer does not turn into a burst.
        budget = Math.min(budget + ((now - refilledAt) * rate) / 1000, rate / 10);
        refilledAt = now;
        const size = Math.min(Math.floor(budget), socket.readableLength);
        if (size <= 0) return;
        chunk = socket.read(size) as Buffer | null;
        if (chunk !== null) budget -= chunk.length;
      }
      if (chunk === null) return;
      read += chunk.length;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      parse();
    }
  };
  socket.on('readable', pump);
  const timer = setInterval(pump, 5);

  const opened = new Promise<void>((resolve, reject) => {
    onFirstFrame = () => {
      onFirstFrame = undefined;
      resolve();
    };
    onHandshakeFailure = reject;
    socket.once('close', () => reject(new Error(`connection of ${id} closed before its first frame`)));
  });
  const query = new URLSearchParams({ key: server.config.key, id, token });
  socket.write(
    `GET ${prefix}/peerjs?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await opened;

  return {
    socket,
    texts,
    closed,
    bytesRead: () => read,
    closeCode: () => closeCodeSeen,
    readAt(bytesPerSecond) {
      rate = bytesPerSecond;
      budget = 0;
      refilledAt = performance.now();
      pump();
    },
    send(text) {
      socket.write(clientFrame(0x1, Buffer.from(text)));
    },
    destroy() {
      clearInterval(timer);
      socket.destroy();
    },
  };
}
