// ws wiring on ws's public API: which upgrades to take, the socket operations signaling uses, frames in, shutdown.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type ServerOptions } from 'ws';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { CloseCode, ExtraWireError, HEARTBEAT_FRAME } from '../signaling/protocol.js';
import type { Peer } from '../signaling/realm.js';
import { admitFrame, handleFrame, replyError } from '../signaling/relay.js';
import type { SignalingObserver } from '../signaling/observer.js';
import { Peers, type PeerSocketOps } from '../signaling/peers.js';
import type { ClusterBackend } from '../cluster/backend.js';
import { clientAddress } from '../http/client-address.js';
import { originMatcher } from '../http/origins.js';
import { endRawResponse } from '../http/raw-response.js';
import { SendQueue, inFlightLimit } from './send-queue.js';

const HEARTBEAT_BYTES = Buffer.from(HEARTBEAT_FRAME);

/**
 * How long a socket the server closes has to finish the closing handshake before ws cuts it off
 * (ws's `closeTimeout`): ws's own default of 30 s would keep parsing whatever the client sends.
 */
const CLOSE_GRACE_MS = 1000;

/**
 * The server-side socket class, given to ws through its `WebSocket` option: it carries its peer, its
 * transport and the raw connection, so the listeners can be shared functions instead of closures.
 */
class PeerSocket extends WebSocket {
  peer: Peer<PeerSocket> | undefined = undefined;
  transport: WebSocketTransport | undefined = undefined;
  /** The connection the `upgrade` event handed over, corked while a tick's frames are written. */
  connection: Duplex | undefined = undefined;
  /** Client address, counted against maxConnectionsPerIp until the socket closes ('' when not counted). */
  ip = '';
  /** Frames waiting for this socket to write what it holds (only while its reader is behind). */
  queue: SendQueue | undefined = undefined;
}

/** Connections corked during this tick; uncorked together once the current I/O callback is done. */
let corked: Duplex[] = [];

function uncorkAll(): void {
  const connections = corked;
  corked = [];
  for (const connection of connections) connection.uncork();
}

/**
 * Frames to the same peer within one tick (a burst of candidates, a queue flush, the 101 response
 * and OPEN) leave in one writev instead of one write system call each: the first write in a tick
 * corks the connection and a nextTick uncorks it, after ws has handled every frame of the current read.
 */
function corkForThisTick(connection: Duplex): void {
  if (connection.writableCorked !== 0) return;
  connection.cork();
  if (corked.push(connection) === 1) process.nextTick(uncorkAll);
}

function leaveQueue(this: PeerSocket): void {
  this.queue = undefined;
}

const socketOps: PeerSocketOps<PeerSocket> = {
  send(socket, frame) {
    if (socket.queue !== undefined) return socket.queue.push(frame);
    const connection = socket.connection!;
    corkForThisTick(connection);
    socket.send(frame);
    if (socket.bufferedAmount >= inFlightLimit(connection)) socket.queue = new SendQueue(socket, connection, leaveQueue.bind(socket));
  },
  isOpen(socket) {
    return socket.readyState === WebSocket.OPEN;
  },
  bufferedAmount(socket) {
    return socket.bufferedAmount + (socket.queue?.chars ?? 0);
  },
  bind(socket, peer) {
    socket.peer = peer;
  },
  close(socket, code, reason) {
    socket.close(code, reason);
  },
  terminate(socket) {
    socket.terminate();
  },
  ping(socket) {
    socket.ping();
  },
  stopReading(socket) {
    socket.pause();
  },
  resumeReading(socket) {
    socket.resume();
  },
};

/** Shared listeners: one function for every socket (EventEmitter calls them with the socket as `this`). */
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const peer = (this as PeerSocket).peer;
  if (peer === undefined) return;
  const relay = (this as PeerSocket).transport!.peers.relay;
  if (isBinary) {
    if (admitFrame(relay, peer, data.length)) replyError(relay, peer, ExtraWireError.BINARY_FRAME);
    return;
  }
  // Heartbeats are most of the traffic of an idle server: recognise the bytes without making a string.
  if (data.length === HEARTBEAT_BYTES.length && data.equals(HEARTBEAT_BYTES)) {
    admitFrame(relay, peer, data.length);
    return;
  }
  handleFrame(relay, peer, data.toString(), data.length);
}

function onPong(this: WebSocket): void {
  const socket = this as PeerSocket;
  if (socket.peer !== undefined) socket.transport!.peers.ponged(socket.peer);
}

function onClose(this: WebSocket, code: number): void {
  const socket = this as PeerSocket;
  const transport = socket.transport!;
  transport.sockets.delete(socket);
  if (socket.peer !== undefined) transport.peers.unregister(socket.peer, { code, release: true, socket: 'none' });
  transport.releaseAddress(socket.ip);
}

function onSocketError(this: WebSocket, error: Error): void {
  // ws closes the socket itself after a protocol error; without a listener the error would crash the process.
  const socket = this as PeerSocket;
  socket.transport!.logger.debug('socket error', { id: socket.peer?.id, reason: error.message });
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

/**
 * A copy of a query value that does not keep the whole request URL alive: V8 makes substrings of 13
 * or more characters views into their parent string, and a peer lives for hours. Values are ASCII.
 */
function detach(value: string | null): string | null {
  return value === null || value.length < 13 ? value : Buffer.from(value, 'latin1').toString('latin1');
}

export class WebSocketTransport {
  readonly peers: Peers<PeerSocket>;
  readonly logger: Logger;
  /** Every upgraded socket until it closes: what shutdown closes. */
  readonly sockets = new Set<PeerSocket>();
  private readonly config: Readonly<Config>;
  private readonly wss: WebSocketServer;
  private readonly socketPath: string;
  private closing = false;
  /** Open WebSocket connections per client address (only tracked when maxConnectionsPerIp is set). */
  private readonly connectionsByIp = new Map<string, number>();

  /** `mountPath`: where a framework mounted the HTTP API, in front of config.path for the WebSocket (see parts.ts). */
  constructor(config: Readonly<Config>, logger: Logger, cluster: ClusterBackend, observer?: SignalingObserver, mountPath = '') {
    this.config = config;
    this.logger = logger;
    this.peers = new Peers(config, logger, socketOps, cluster, observer);
    const prefix = `${mountPath.replace(/\/+$/, '')}${config.path === '/' ? '' : config.path}`;
    this.socketPath = `${prefix}/peerjs`;
    // `closeTimeout` is documented in ws's doc/ws.md (since ws 8.19) but not yet in @types/ws.
    const options: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      WebSocket: PeerSocket,
      // ws checks the length in the frame header and closes with 1009 before buffering the payload.
      maxPayload: config.maxMessageSizeBytes,
      perMessageDeflate: false,
      // Sockets are tracked in `sockets`, which shutdown needs anyway.
      clientTracking: false,
      closeTimeout: CLOSE_GRACE_MS,
    };
    this.wss = new WebSocketServer(options);
  }

  /** Whether an upgrade to this request target is ours to answer (anything else is someone else's, or a 404). */
  takesUpgrade(url: string): boolean {
    const queryStart = url.indexOf('?');
    const pathname = queryStart === -1 ? url : url.slice(0, queryStart);
    return pathname === this.socketPath || pathname === `${this.socketPath}/`;
  }

  /** Node's `upgrade` event: only `{prefix}/peerjs` is ours; everything else is refused with an HTTP status. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A shared function, not a closure: a closure here would share this method's scope, and keep the
    // parsed query alive for as long as the connection lasts.
    socket.on('error', destroyOnError);
    const url = request.url ?? '/';
    if (this.closing) {
      this.peers.observer.refused('shutdown', undefined);
      endRawResponse(socket, 503, request.method, 'server is shutting down; connect again in a moment');
      return;
    }
    if (!this.takesUpgrade(url)) {
      this.peers.observer.refused('path', undefined);
      const pathname = url.split('?')[0];
      endRawResponse(socket, 404, request.method, `no WebSocket endpoint at ${pathname}; connect to ${this.socketPath}`);
      return;
    }
    // ws answers a wrong method too, but with a body; a HEAD must never get one.
    if (request.method !== 'GET') {
      endRawResponse(socket, 405, request.method, 'a WebSocket upgrade must be a GET request', 'Allow: GET\r\n');
      return;
    }
    const allowed = this.config.allowedOrigins;
    if (!originMatcher(allowed)(request.headers.origin)) {
      this.logger.info('upgrade refused', { reason: 'origin not allowed', origin: request.headers.origin ?? 'none' });
      this.peers.observer.refused('origin', undefined);
      endRawResponse(socket, 403, request.method, 'this Origin may not connect; ask the operator to add it to --allowed-origins');
      return;
    }
    const ip = clientAddress(request, this.config.proxied ? this.config.proxyHops : 0);
    const limit = this.config.maxConnectionsPerIp;
    if (limit > 0 && (this.connectionsByIp.get(ip) ?? 0) >= limit) {
      this.logger.info('upgrade refused', { reason: 'too many connections from one address', ip });
      this.peers.observer.refused('connections-per-ip', undefined);
      endRawResponse(socket, 429, request.method, 'too many connections from this address');
      return;
    }
    // From here ws answers handshake errors (key, version, subprotocols) itself, with its own error listener.
    socket.removeListener('error', destroyOnError);
    // The 101 response and OPEN (or the refusal) leave in one write.
    corkForThisTick(socket);
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws as PeerSocket, request, socket, ip));
  }

  private accept(socket: PeerSocket, request: IncomingMessage, connection: Duplex, ip: string): void {
    socket.transport = this;
    socket.connection = connection;
    socket.on('message', onMessage);
    socket.on('pong', onPong);
    socket.on('close', onClose);
    socket.on('error', onSocketError);
    this.sockets.add(socket);
    if (this.config.maxConnectionsPerIp > 0) {
      socket.ip = ip;
      this.connectionsByIp.set(ip, (this.connectionsByIp.get(ip) ?? 0) + 1);
    }
    const url = request.url ?? '';
    const query = new URLSearchParams(url.slice(url.indexOf('?') + 1));
    this.peers.admit(socket, { key: query.get('key'), id: detach(query.get('id')), token: detach(query.get('token')), ip });
  }

  /** Called when a socket closed: gives its address one connection back. */
  releaseAddress(ip: string): void {
    if (ip === '') return;
    const count = (this.connectionsByIp.get(ip) ?? 1) - 1;
    if (count <= 0) this.connectionsByIp.delete(ip);
    else this.connectionsByIp.set(ip, count);
  }

  /** Closes every socket with 1001, waits up to closeTimeoutMs for the handshakes, then terminates the rest. */
  async close(): Promise<void> {
    this.closing = true;
    this.peers.stop();
    const sockets = [...this.sockets];
    const closed = sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          socket.once('close', () => resolve());
        }),
    );
    for (const socket of sockets) socket.close(CloseCode.GOING_AWAY, 'server shutting down');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.config.closeTimeoutMs);
    });
    await Promise.race([Promise.all(closed), deadline]);
    clearTimeout(timer);
    for (const socket of this.sockets) socket.terminate();
    await Promise.all(closed);
  }
}
