// Takes WebSocket upgrades to the signaling path straight from a new connection's first read, before
// Node's HTTP server sees the connection. Node's server would spend a parser, an IncomingMessage and
// several listeners on each, which on connection bursts is a tenth of the CPU of a session. Anything
// else (other paths, HTTP API requests, a head split over reads, anything request-head.ts does not
// accept) is handed to the HTTP server as if it had just accepted the connection, bytes included.
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
  /** Stops taking connections' first reads and closes those still waiting for one. */
  close(): void;
}

const HEAD_END = '\r\n\r\n';
const NO_BYTES = Buffer.alloc(0);

function destroyOnError(this: Socket): void {
  this.destroy();
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

  /** Connections whose first read has not come, with when they were accepted (insertion order is age order). */
  const waiting = new Map<Socket, number>();
  let closed = false;

  /**
   * Node's listener parses what was pushed through the socket's 'data' event, and then has its parser
   * read the handle directly as usual (a native stream listener stacked above the shared buffer's, so
   * keep-alive API requests cost what they did; once the parser lets go, as after an upgrade, reads
   * land in the shared buffer again).
   */
  const handOver = (socket: Socket): void => {
    socket.removeListener('error', destroyOnError);
    nodeListener.call(server, socket);
  };

  const onFirstRead = (socket: Socket, bytes: Buffer, length: number): boolean => {
    waiting.delete(socket);
    // Answered 408 by the sweep already: what comes after that is not read.
    if (socket.writableEnded) return true;
    const text = bytes.toString('latin1', 0, Math.min(length, MAX_HEAD_BYTES + HEAD_END.length));
    const end = text.indexOf(HEAD_END);
    const head = end === -1 ? undefined : parseRequestHead(text.slice(0, end));
    if (closed || head === undefined || !asksToUpgrade(head) || !options.takes(head.url)) {
      const more = pushRead(socket, bytes, 0, length);
      handOver(socket);
      return more;
    }
    socket.removeListener('error', destroyOnError);
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
    socket.on('error', destroyOnError);
    waiting.set(socket, performance.now());
  };
  server.on('connection', onConnection);

  // Also forgets connections that closed before sending anything (a TCP health check, a port scan).
  const sweep = (): void => {
    const expired = performance.now() - options.timeoutMs;
    for (const [socket, acceptedAt] of waiting) {
      if (socket.destroyed) {
        waiting.delete(socket);
      } else if (acceptedAt <= expired) {
        waiting.delete(socket);
        endRawResponse(socket, 408);
      }
    }
  };
  const sweepTimer = setInterval(sweep, Math.min(1000, Math.max(50, Math.floor(options.timeoutMs / 4))));
  sweepTimer.unref();

  return {
    close() {
      closed = true;
      clearInterval(sweepTimer);
      for (const socket of waiting.keys()) socket.destroy();
      waiting.clear();
    },
  };
}
