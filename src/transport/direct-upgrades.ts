// Takes WebSocket upgrades to the signaling path straight from a new connection's first read, before
// Node's HTTP server sees the connection. Node's server would spend a parser, an IncomingMessage and
// several listeners on each, which on connection bursts is a tenth of the CPU of a session. Anything
// else (other methods and paths, HTTP API requests, a head split over reads, anything request-head.ts
// does not accept) is handed to the HTTP server as if it had just accepted the connection, bytes included.
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
  /** How long a new connection may send nothing; then it gets 408, as from Node's headers timeout. */
  timeoutMs: number;
}

export interface DirectUpgrades {
  /** Stops looking at new connections and closes those that have sent nothing yet. */
  close(): void;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const NO_BYTES = Buffer.alloc(0);

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
   * Connections whose first bytes have not come, with when they were accepted (insertion order is age
   * order). Once bytes come, Node's own headers timeout applies as usual: its parser sees them first.
   */
  const waiting = new Map<Socket, number>();
  let closed = false;

  /** Ends the wait of a connection whose first bytes came, or that is being answered or closed. */
  const stopWaiting = (socket: Socket): void => {
    waiting.delete(socket);
    socket.removeListener('end', onEndWhileWaiting);
  };

  /**
   * The client closed its side before sending anything: Node's server would end the connection at
   * once, and so do we (the server is allowHalfOpen, so nothing else would, and the descriptor would
   * be held until the timeout).
   */
  function onEndWhileWaiting(this: Socket): void {
    stopWaiting(this);
    this.destroy();
  }

  /** Also stays on a socket answered with 408 here, until it is destroyed. */
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

  /**
   * The first read: a complete head taken here, or everything handed to Node, which then reads the
   * rest (a head in pieces included) and applies its own timeouts from this first byte, as it would have.
   */
  const onFirstRead = (socket: Socket, bytes: Buffer, length: number): boolean => {
    // Answered 408 by the sweep already: what comes after that is not read.
    if (socket.writableEnded) return true;
    const end = bytes.subarray(0, Math.min(length, MAX_HEAD_BYTES + HEAD_END.length)).indexOf(HEAD_END);
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
    if (closed || !readFirstIntoSharedBuffer(socket, onFirstRead)) {
      nodeListener.call(server, socket);
      return;
    }
    socket.on('error', onErrorWhileWaiting);
    socket.on('end', onEndWhileWaiting);
    waiting.set(socket, performance.now());
  };
  server.on('connection', onConnection);

  // Connections leave `waiting` when bytes come, they end or fail: what is left, in order of age
  // until the first young one, has had the whole timeout.
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
