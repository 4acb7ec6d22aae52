// Takes WebSocket upgrades to the signaling path straight from a new connection's first reads, before
// Node's HTTP server sees the connection. Node's server would spend a parser, an IncomingMessage and
// several listeners on each, which on connection bursts is a tenth of the CPU of a session. Anything
// else (other methods and paths, HTTP API requests, anything request-head.ts does not accept) is
// handed to the HTTP server as if it had just accepted the connection, bytes included.
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { endRawResponse } from '../http/raw-response.js';
import type { UpgradeRequest } from './handshake.js';
import { MAX_HEAD_BYTES, asksToUpgrade, parseRequestHead } from './request-head.js';
import { pushRead, readFirstIntoSharedBuffer } from './shared-reads.js';

export interface DirectUpgradeOptions {
  /** Whether an upgrade to this request target is taken here (the signaling path). */
  takes(url: string): boolean;
  /** Does what the server's 'upgrade' listener does; `head` is whatever the client sent after the request. */
  upgrade(request: UpgradeRequest, socket: Socket, head: Buffer): void;
  /** How long a new connection has to send its request head; then it gets 408, as from Node's headers timeout. */
  timeoutMs: number;
}

export interface DirectUpgrades {
  /** Stops looking at new connections and closes those whose request head has not fully come. */
  close(): void;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const NO_BYTES = Buffer.alloc(0);
const UPGRADE_START = Buffer.from('GET /', 'latin1');

/** Whether a head that has not fully come may still be one taken here: it starts as a GET does. */
function mayBeUpgrade(bytes: Buffer, length: number): boolean {
  return bytes.compare(UPGRADE_START, 0, Math.min(length, UPGRADE_START.length), 0, Math.min(length, UPGRADE_START.length)) === 0;
}

/** The bytes of a head that came in pieces so far: `bytes[0, length)`, with room to grow. */
interface PartialHead {
  bytes: Buffer;
  length: number;
}

/**
 * Appends a read to what came before, doubling the room when it runs out: each byte is copied a
 * bounded number of times, however small the pieces a client sends.
 */
function appendRead(earlier: PartialHead | undefined, read: Buffer, readLength: number): PartialHead {
  const before = earlier?.length ?? 0;
  const length = before + readLength;
  let bytes = earlier?.bytes;
  if (bytes === undefined || bytes.length < length) {
    const grown = Buffer.allocUnsafe(Math.max(length, 2 * (bytes?.length ?? 256)));
    bytes?.copy(grown, 0, 0, before);
    bytes = grown;
  }
  read.copy(bytes, before, 0, readLength);
  return { bytes, length };
}

/**
 * Puts itself in front of the HTTP server's own connection listener. Returns undefined, changing
 * nothing, when that listener is not the single one Node installs (then every connection goes the usual way).
 */
export function takeDirectUpgrades(server: HttpServer, options: DirectUpgradeOptions): DirectUpgrades | undefined {
  const listeners = server.listeners('connection');
  if (listeners.length !== 1) return undefined;
  const nodeListener = listeners[0] as (this: HttpServer, socket: Socket) => void;
  server.removeListener('connection', nodeListener);

  /**
   * Connections whose request head has not fully come, with when they were accepted (insertion order
   * is age order): the handshake timeout counts from there, as Node's counts from a request's first byte.
   */
  const waiting = new Map<Socket, number>();
  /** The part of a head that came so far, for the few connections that send one in pieces. */
  const partial = new Map<Socket, PartialHead>();
  let closed = false;

  /** Ends the wait of a connection whose head has come, or that is being answered or closed. */
  const stopWaiting = (socket: Socket): void => {
    waiting.delete(socket);
    partial.delete(socket);
    socket.removeListener('end', onEndWhileWaiting);
  };

  /**
   * The client closed its side before its head was complete. Node's server would end the connection
   * at once, or answer 400 to an incomplete request; so do we (the server is allowHalfOpen, so nothing
   * else would, and the descriptor would be held until the timeout).
   */
  function onEndWhileWaiting(this: Socket): void {
    const sentSomething = partial.has(this);
    stopWaiting(this);
    if (sentSomething) endRawResponse(this, 400);
    else this.destroy();
  }

  /** Also stays on a socket answered with 408 or 400 here, until it is destroyed. */
  function onErrorWhileWaiting(this: Socket): void {
    stopWaiting(this);
    this.destroy();
  }

  /**
   * Node's listener parses what was pushed through the socket's 'data' event, and then has its parser
   * read the handle directly as usual (a native stream listener stacked above the shared buffer's, so
   * keep-alive API requests cost what they did; once the parser lets go, as after an upgrade, reads
   * land in the shared buffer again).
   */
  const handOver = (socket: Socket): void => {
    stopWaiting(socket);
    socket.removeListener('error', onErrorWhileWaiting);
    nodeListener.call(server, socket);
  };

  const onRead = (socket: Socket, read: Buffer, readLength: number): boolean => {
    // Answered 408 by the sweep already: what comes after that is not read.
    if (socket.writableEnded) return true;
    let bytes = read;
    let length = readLength;
    let searchFrom = 0;
    const earlier = partial.get(socket);
    if (earlier !== undefined) {
      // Only the bytes that came now can complete the blank line (it may start in the piece before).
      searchFrom = Math.max(0, earlier.length - HEAD_END.length + 1);
      ({ bytes, length } = appendRead(earlier, read, readLength));
    }
    const end = bytes.subarray(0, Math.min(length, MAX_HEAD_BYTES + HEAD_END.length)).indexOf(HEAD_END, searchFrom);
    if (end === -1 && !closed && length < MAX_HEAD_BYTES && mayBeUpgrade(bytes, length)) {
      // The rest of the head is on its way: keep what came (the shared buffer is reused) and read again.
      partial.set(socket, earlier === undefined ? appendRead(undefined, read, readLength) : { bytes, length });
      readFirstIntoSharedBuffer(socket, onRead);
      return true;
    }
    const head = end === -1 ? undefined : parseRequestHead(bytes.toString('latin1', 0, end));
    if (closed || head === undefined || !asksToUpgrade(head) || !options.takes(head.url)) {
      const more = pushRead(socket, bytes, 0, length);
      handOver(socket);
      return more;
    }
    stopWaiting(socket);
    socket.removeListener('error', onErrorWhileWaiting);
    const after = end + HEAD_END.length;
    let rest = NO_BYTES;
    if (after < length) {
      rest = Buffer.allocUnsafe(length - after);
      bytes.copy(rest, 0, after, length);
    }
    options.upgrade({ method: head.method, url: head.url, headers: head.headers, socket }, socket, rest);
    return true;
  };

  const onConnection = (socket: Socket): void => {
    if (closed || !readFirstIntoSharedBuffer(socket, onRead)) {
      nodeListener.call(server, socket);
      return;
    }
    socket.on('error', onErrorWhileWaiting);
    socket.on('end', onEndWhileWaiting);
    waiting.set(socket, performance.now());
  };
  server.on('connection', onConnection);

  // Connections leave `waiting` when their head comes, they end or fail: what is left in order of age
  // until the first young one has had the whole timeout.
  const sweep = (): void => {
    const expired = performance.now() - options.timeoutMs;
    for (const [socket, acceptedAt] of waiting) {
      if (acceptedAt > expired) break;
      stopWaiting(socket);
      if (!socket.destroyed) endRawResponse(socket, 408);
    }
  };
  const sweepTimer = setInterval(sweep, Math.min(1000, Math.max(50, Math.floor(options.timeoutMs / 4))));
  sweepTimer.unref();

  return {
    close() {
      closed = true;
      clearInterval(sweepTimer);
      for (const socket of [...waiting.keys()]) {
        stopWaiting(socket);
        socket.destroy();
      }
    },
  };
}
