// ws wiring: upgrade on {prefix}/peerjs only, query-param admission, OPEN and queued delivery, liveness sweep, shutdown.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import {
  CloseCode,
  ExtraWireError,
  HEARTBEAT_FRAME,
  ID_TAKEN_FRAME,
  OPEN_FRAME,
  WireError,
  errorFrame,
  isValidId,
  isValidToken,
} from '../signaling/protocol.js';
import { Realm, type Peer } from '../signaling/realm.js';
import {
  deliverFromRemote,
  expireQueued,
  flushToRemote,
  admitFrame,
  handleFrame,
  reply,
  type RelayContext,
  type SocketOps,
} from '../signaling/relay.js';
import type { ClaimResult, ClusterBackend, ClusterHooks } from '../cluster/backend.js';
import { clientAddress } from '../http/client-address.js';
import { createSecretMatcher } from '../secrets.js';
import { readIntoSharedBuffer, setFrameTaker, type FrameTaker } from './shared-reads.js';
import { chosenProtocol, handshakeProblem, switchingProtocols, type UpgradeRequest } from './handshake.js';
import { endRawResponse } from '../http/raw-response.js';
import { verifyPeerToken } from '../tokens.js';

const HEARTBEAT_BYTES = Buffer.from(HEARTBEAT_FRAME);

/** Milliseconds on a clock that never steps: a wall-clock jump must not rate-limit or time out every peer at once. */
const monotonicNow = (): number => performance.now();
/** How long a socket the server closes has to finish the closing handshake before it is cut off. */
const CLOSE_GRACE_MS = 1000;

/**
 * Closes with a code, and cuts the connection off if the client has not answered within the grace
 * period: ws would otherwise wait 30 s, parsing whatever the client keeps sending.
 */
function closeSoon(socket: PeerSocket, code: number, reason: string): void {
  socket.close(code, reason);
  setTimeout(terminateSocket, CLOSE_GRACE_MS, socket).unref();
}

function terminateSocket(socket: PeerSocket): void {
  socket.terminate();
}

/** The server-side socket class: carries its peer and its transport so listeners can be shared functions. */
class PeerSocket extends WebSocket {
  peer: Peer<PeerSocket> | undefined = undefined;
  transport: WebSocketTransport | undefined = undefined;
  /** Client address, counted against maxConnectionsPerIp until the socket closes. */
  ip = '';

  /**
   * Sends our four events straight to the shared handlers instead of registering listeners on
   * every socket: with tens of thousands of sockets, the listener entries add up. Everything is
   * still emitted afterwards, so ws's own bookkeeping and any other listener see it as usual.
   */
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    switch (event) {
      case 'message':
        onMessage.call(this, a as Buffer, b as boolean);
        break;
      case 'pong':
        onPong.call(this);
        break;
      case 'close':
        onClose.call(this, a as number);
        break;
      case 'error':
        onSocketError.call(this, a as Error);
        // Handled: an 'error' without listeners must not reach EventEmitter, which would throw it.
        if (this.listenerCount('error') === 0) return true;
        break;
    }
    return super.emit(event, a, b);
  }
}

/** The net.Socket under a ws socket (ws keeps it in `_socket`; there is no public accessor). */
interface Corkable {
  cork(): void;
  uncork(): void;
  writableCorked: number;
}

/** Sockets corked during this tick; uncorked together once the current I/O callback is done. */
let corked: Corkable[] = [];

function uncorkAll(): void {
  const sockets = corked;
  corked = [];
  for (const socket of sockets) socket.uncork();
}

/**
 * Frames to the same peer within one tick (a burst of candidates, a queue flush) leave in one
 * writev instead of one write system call each: the first send in a tick corks the socket and a
 * nextTick uncorks it, after ws has handled every frame of the current read.
 */
function sendBatched(socket: PeerSocket, frame: string): void {
  const raw = (socket as unknown as { _socket?: Corkable })._socket;
  if (raw !== undefined) corkForThisTick(raw);
  socket.send(frame);
}

function corkForThisTick(raw: Corkable): void {
  if (raw.writableCorked !== 0) return;
  raw.cork();
  if (corked.push(raw) === 1) process.nextTick(uncorkAll);
}

const socketOps: SocketOps<PeerSocket> = {
  send: sendBatched,
  isOpen(socket) {
    return socket.readyState === WebSocket.OPEN;
  },
  bufferedAmount(socket) {
    return socket.bufferedAmount;
  },
};

/**
 * The socket's peer while it is the registered holder of its id; frames from any other socket are
 * ignored. `socket.peer` is set together with the realm entry (register) and cleared whenever that
 * entry goes or is handed to another socket (replace, drop, disconnect, forget), so no lookup is needed.
 */
function registeredPeer(socket: PeerSocket): Peer<PeerSocket> | undefined {
  return socket.peer;
}

/** The parts of ws's Receiver (a Writable) read here: it is between frames when these hold. */
interface ReceiverState {
  _state: number;
  _bufferedBytes: number;
  _fragmented: number;
  writableLength: number;
  destroyed: boolean;
}

/**
 * Takes complete text frames from shared-buffer reads (see shared-reads.ts) while ws holds no
 * partial frame and the socket is open: ws would have emitted the same 'message' for each.
 */
const frameTaker: FrameTaker = {
  maxPayload(owner) {
    const socket = owner as PeerSocket;
    const receiver = (socket as unknown as { _receiver: ReceiverState })._receiver;
    if (
      receiver._state !== 0 ||
      receiver._bufferedBytes !== 0 ||
      receiver._fragmented !== 0 ||
      receiver.writableLength !== 0 ||
      receiver.destroyed ||
      socket.readyState !== WebSocket.OPEN ||
      socket.transport === undefined
    ) {
      return -1;
    }
    return socket.transport.maxPayloadBytes;
  },
  text(owner, payload) {
    onMessage.call(owner as PeerSocket, payload, false);
  },
};
setFrameTaker(frameTaker);

/** Shared handlers: one function for every socket instead of closures per socket (see PeerSocket.emit). */
function onMessage(this: WebSocket, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
  const socket = this as PeerSocket;
  const peer = registeredPeer(socket);
  if (peer === undefined) return;
  const transport = socket.transport!;
  if (isBinary) {
    if (admitFrame(transport.relayContext, peer)) reply(transport.relayContext, peer, errorFrame(ExtraWireError.BINARY_FRAME));
    return;
  }
  const buffer = data as Buffer;
  // Heartbeats are most of the traffic of an idle server: recognise the bytes without making a string.
  if (buffer.length === HEARTBEAT_BYTES.length && buffer.equals(HEARTBEAT_BYTES)) {
    admitFrame(transport.relayContext, peer);
    return;
  }
  handleFrame(transport.relayContext, peer, buffer.toString());
}

function onPong(this: WebSocket): void {
  const peer = (this as PeerSocket).peer;
  if (peer !== undefined) peer.lastSeen = monotonicNow();
}

function onClose(this: WebSocket, code: number): void {
  const socket = this as PeerSocket;
  socket.transport?.sockets.delete(socket);
  socket.transport?.forget(socket, code);
  socket.transport?.releaseAddress(socket.ip);
}

function onSocketError(this: WebSocket, error: Error): void {
  // ws closes the socket itself after a protocol error; without a listener the error would crash the process.
  const socket = this as PeerSocket;
  socket.transport?.logger.debug('socket error', { id: socket.peer?.id, reason: error.message });
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

/**
 * A copy of a query value that does not keep the whole request URL alive: V8 makes substrings of 13
 * or more characters views into their parent string, and a peer lives for hours. Values are ASCII.
 */
function detach(value: string): string {
  return value.length < 13 ? value : Buffer.from(value, 'latin1').toString('latin1');
}

export class WebSocketTransport {
  readonly realm: Realm<PeerSocket>;
  readonly relayContext: RelayContext<PeerSocket>;
  readonly logger: Logger;
  /** The largest frame payload accepted (ws closes with 1009 above it). */
  readonly maxPayloadBytes: number;
  private readonly config: Readonly<Config>;
  private readonly wss: WebSocketServer;
  private readonly socketPath: string;
  private readonly sweepTimer: NodeJS.Timeout;
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt = Infinity;
  private closing = false;
  /** Open WebSocket connections per client address (only tracked when maxConnectionsPerIp is set). */
  private readonly connectionsByIp = new Map<string, number>();
  private readonly cluster: ClusterBackend;
  private readonly isKey: (given: string) => boolean;
  /** Every upgraded socket until it closes: what shutdown closes. */
  readonly sockets = new Set<PeerSocket>();
  /** Ids whose cluster-wide claim is in flight, with the claiming token. */
  private readonly claiming = new Map<string, string>();

  constructor(config: Readonly<Config>, logger: Logger, cluster: ClusterBackend) {
    this.config = config;
    this.logger = logger;
    this.maxPayloadBytes = config.maxMessageSizeBytes;
    this.cluster = cluster;
    this.isKey = createSecretMatcher(config.key);
    this.realm = new Realm<PeerSocket>(config);
    this.socketPath = config.path === '/' ? '/peerjs' : `${config.path}/peerjs`;
    this.wss = new WebSocketServer({
      noServer: true,
      WebSocket: PeerSocket,
      // ws checks the length in the frame header and closes with 1009 before buffering the payload.
      maxPayload: config.maxMessageSizeBytes,
      perMessageDeflate: false,
      // Sockets are tracked in `sockets`: ws's tracking adds a closure to every socket.
      clientTracking: false,
    });
    this.relayContext = {
      realm: this.realm,
      ops: socketOps,
      cluster,
      expireTimeoutMs: config.expireTimeoutMs,
      rateLimitPerSec: config.rateLimitPerSec,
      rateBurst: config.rateBurst,
      maxBufferedBytes: config.maxBufferedBytes,
      now: monotonicNow,
      framesHandled: 0,
      onQueued: (deadline) => this.armExpiry(deadline),
      onLeave: (peer) => this.disconnect(peer, CloseCode.NORMAL, 'left'),
      onRateLimited: (peer) => {
        this.logger.warn('peer rate limited', { id: peer.id });
        peer.socket.send(errorFrame(ExtraWireError.RATE_LIMITED));
        this.disconnect(peer, CloseCode.POLICY_VIOLATION, 'rate limit exceeded');
        // Stop reading a flooder at once: until the grace period cuts it off, its writes back up in its
        // own kernel buffers instead of being read and parsed here.
        (peer.socket as unknown as { _socket?: { pause(): void } })._socket?.pause();
      },
      onStalled: (peer) => {
        this.logger.warn('peer not reading, disconnected', { id: peer.id, buffered: peer.socket.bufferedAmount });
        this.disconnect(peer, CloseCode.POLICY_VIOLATION, 'not reading');
        // It does not read, so it would never finish a closing handshake either.
        peer.socket.terminate();
      },
    };
    // One sweep per server, a third of the alive timeout: a silent peer is closed within 4/3 of it.
    const sweepEveryMs = Math.max(10, Math.floor(config.aliveTimeoutMs / 3));
    this.sweepTimer = setInterval(() => this.sweep(sweepEveryMs), sweepEveryMs);
    this.sweepTimer.unref();
  }

  get peerCount(): number {
    return this.realm.peers.size;
  }

  get framesHandled(): number {
    return this.relayContext.framesHandled;
  }

  /** Whether an upgrade to this request target would be accepted here rather than refused with 404. */
  takesUpgrade(url: string): boolean {
    const queryStart = url.indexOf('?');
    return this.isSocketPath(queryStart === -1 ? url : url.slice(0, queryStart));
  }

  private isSocketPath(pathname: string): boolean {
    return pathname === this.socketPath || pathname === `${this.socketPath}/`;
  }

  /**
   * Takes an HTTP upgrade request: only `{prefix}/peerjs` is ours. Node's 'upgrade' event calls this,
   * and so does direct-upgrades.ts for requests it parsed itself.
   */
  handleUpgrade(request: UpgradeRequest, socket: Duplex, head: Buffer): void {
    // A shared function, not a closure: a closure here would share this method's scope, and keep the
    // parsed query alive for as long as the connection lasts.
    socket.on('error', destroyOnError);
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const pathname = queryStart === -1 ? url : url.slice(0, queryStart);
    if (this.closing) {
      endRawResponse(socket, 400, request.method, 'server is shutting down');
      return;
    }
    if (!this.isSocketPath(pathname)) {
      endRawResponse(socket, 404, request.method, `no WebSocket endpoint at ${pathname}; connect to ${this.socketPath}`);
      return;
    }
    if ((request.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      endRawResponse(socket, 400, request.method, 'only WebSocket upgrades are accepted');
      return;
    }
    const allowed = this.config.allowedOrigins;
    if (allowed.length > 0 && !allowed.includes('*') && !allowed.includes(request.headers.origin ?? '')) {
      this.logger.info('upgrade refused', { reason: 'origin not allowed', origin: request.headers.origin ?? 'none' });
      endRawResponse(socket, 403, request.method, 'this Origin may not connect; ask the operator to add it to --allowed-origins');
      return;
    }
    const ip = clientAddress(request, this.config.proxied ? this.config.proxyHops : 0);
    const limit = this.config.maxConnectionsPerIp;
    if (limit > 0 && (this.connectionsByIp.get(ip) ?? 0) >= limit) {
      this.logger.info('upgrade refused', { reason: 'too many connections from one address', ip });
      endRawResponse(socket, 429, request.method, 'too many connections from this address');
      return;
    }
    const refusal = handshakeProblem(request);
    if (refusal !== undefined) {
      endRawResponse(socket, refusal.status, request.method, refusal.reason, refusal.headers);
      return;
    }
    // The client may have gone while we looked at its request.
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    const query = new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1));
    // OPEN follows the 101 response in this tick (single instance): one write, one TCP segment for both.
    corkForThisTick(socket as unknown as Corkable);
    const protocol = chosenProtocol(request);
    socket.write(switchingProtocols(request, protocol));
    // From here ws's own error listener (added by setSocket) takes over, as after ws's handleUpgrade.
    socket.removeListener('error', destroyOnError);
    const peerSocket = this.upgraded(socket, head, protocol);
    readIntoSharedBuffer(socket as Socket, peerSocket);
    if (limit > 0) {
      peerSocket.ip = ip;
      this.connectionsByIp.set(ip, (this.connectionsByIp.get(ip) ?? 0) + 1);
    }
    this.admit(peerSocket, query, ip);
  }

  /**
   * The ws socket over an upgraded connection, built the way ws's WebSocketServer builds it (its
   * options, then setSocket) once the 101 response is written. See handshake.ts for why not handleUpgrade.
   */
  private upgraded(socket: Duplex, head: Buffer, protocol: string | undefined): PeerSocket {
    const options = this.wss.options;
    const peerSocket = new (PeerSocket as unknown as new (address: null, protocols: undefined, options: object) => PeerSocket)(null, undefined, options);
    // What ws's `protocol` getter reports, as its handleUpgrade would have set it.
    if (protocol !== undefined) (peerSocket as unknown as { _protocol: string })._protocol = protocol;
    (peerSocket as unknown as { setSocket(socket: Duplex, head: Buffer, options: object): void }).setSocket(socket, head, options);
    peerSocket.transport = this;
    this.sockets.add(peerSocket);
    return peerSocket;
  }

  /** Called when a socket closed: gives its address one connection back. */
  releaseAddress(ip: string): void {
    if (ip === '') return;
    const count = (this.connectionsByIp.get(ip) ?? 1) - 1;
    if (count <= 0) this.connectionsByIp.delete(ip);
    else this.connectionsByIp.set(ip, count);
  }

  private admit(socket: PeerSocket, query: URLSearchParams, ip: string): void {
    socket.transport = this;
    const key = query.get('key');
    const id = query.get('id');
    const token = query.get('token');
    const refuse = (frame: string, reason: string): void => {
      this.logger.info('peer refused', { id: id !== null && isValidId(id) ? id : undefined, ip, reason });
      socket.send(frame);
      closeSoon(socket, CloseCode.POLICY_VIOLATION, reason);
    };
    if (!key || !id || !token) return refuse(errorFrame(WireError.INVALID_WS_PARAMETERS), 'missing parameters');
    if (!this.isKey(key)) return refuse(errorFrame(WireError.INVALID_KEY), 'invalid key');
    if (!isValidId(id)) return refuse(errorFrame(ExtraWireError.INVALID_ID), 'invalid id');
    if (!isValidToken(token)) return refuse(errorFrame(ExtraWireError.INVALID_TOKEN), 'invalid token');
    if (this.config.tokenSecret !== undefined) {
      const check = verifyPeerToken(token, id, this.config.tokenSecret);
      if (check === 'expired') return refuse(errorFrame(ExtraWireError.TOKEN_EXPIRED), 'expired token');
      if (check !== 'ok') return refuse(errorFrame(ExtraWireError.TOKEN_REJECTED), `${check} token`);
    }

    if (this.claiming.has(id)) return refuse(ID_TAKEN_FRAME, 'id taken');
    if (!this.admissible(id, token, refuse)) return;

    const claim = this.cluster.claim(id, token);
    if (!(claim instanceof Promise)) {
      this.register(socket, id, token, ip, claim, refuse);
      return;
    }
    // Cluster mode: the claim is a round trip; hold the id locally so a racing socket cannot also claim it.
    this.claiming.set(id, token);
    claim.then(
      (result) => {
        this.claiming.delete(id);
        this.register(socket, id, token, ip, result, refuse);
      },
      (error: Error) => {
        this.claiming.delete(id);
        this.logger.error('cluster claim failed', { id, reason: error.message });
        closeSoon(socket, CloseCode.INTERNAL_ERROR, 'cluster unavailable, try again');
      },
    );
  }

  /** The local checks: an id held here by a live socket with another token, and the concurrent limit. */
  private admissible(id: string, token: string, refuse: (frame: string, reason: string) => void): boolean {
    const existing = this.realm.peers.get(id);
    if (existing !== undefined && socketOps.isOpen(existing.socket) && existing.token !== token) {
      refuse(ID_TAKEN_FRAME, 'id taken');
      return false;
    }
    if (existing === undefined && this.realm.peers.size >= this.config.concurrentLimit) {
      refuse(errorFrame(WireError.CONNECTION_LIMIT_EXCEED), 'concurrent limit');
      return false;
    }
    return true;
  }

  private register(
    socket: PeerSocket,
    id: string,
    token: string,
    ip: string,
    claim: ClaimResult,
    refuse: (frame: string, reason: string) => void,
  ): void {
    if (claim.outcome === 'taken') return refuse(ID_TAKEN_FRAME, 'id taken on another instance');
    if (socket.readyState !== WebSocket.OPEN || this.closing) {
      // The client left while the claim was in flight.
      if (this.realm.peers.get(id) === undefined) this.cluster.release(id);
      return;
    }
    // Things may have changed during an asynchronous claim: check again, and give the id back if refused.
    if (!this.admissible(id, token, refuse)) {
      if (this.realm.peers.get(id) === undefined) this.cluster.release(id);
      return;
    }
    const existing = this.realm.peers.get(id);
    const now = monotonicNow();
    const peer: Peer<PeerSocket> = {
      id: detach(id),
      token: detach(token),
      socket,
      lastSeen: now,
      allowance: this.config.rateBurst,
      refilledAt: now,
    };
    socket.peer = peer;
    this.realm.peers.set(peer.id, peer);
    if (existing !== undefined) {
      existing.socket.peer = undefined;
      closeSoon(existing.socket, CloseCode.REPLACED, 'replaced by a new connection with the same id and token');
    }
    socket.send(OPEN_FRAME);
    for (const frame of this.realm.takeQueued(id)) socket.send(frame);
    const replaced = existing !== undefined || claim.outcome === 'took-over';
    this.logger.info(replaced ? 'peer reconnected' : 'peer connected', { id, ip });
  }

  /** Hooks the cluster backend calls: remote deliveries, take-overs, joins elsewhere, re-registration. */
  clusterHooks(): ClusterHooks {
    return {
      deliver: (delivery) => deliverFromRemote(this.relayContext, delivery),
      kick: (id) => this.drop(id, CloseCode.REPLACED, 'replaced by a new connection on another instance'),
      joined: (id) => flushToRemote(this.relayContext, id),
      localPeers: () => [...this.realm.peers.values()].map((peer) => ({ id: peer.id, token: peer.token })),
      lost: (id) => {
        const peer = this.realm.peers.get(id);
        if (peer !== undefined) peer.socket.send(ID_TAKEN_FRAME);
        this.drop(id, CloseCode.POLICY_VIOLATION, 'id claimed on another instance');
      },
    };
  }

  /** Closes our socket for `id` without releasing the id: another instance owns it now. */
  private drop(id: string, code: number, reason: string): void {
    const peer = this.realm.peers.get(id);
    if (peer === undefined) return;
    this.realm.peers.delete(id);
    peer.socket.peer = undefined;
    closeSoon(peer.socket, code, reason);
    this.logger.info('peer disconnected', { id, code, reason });
    // A no-op when another instance owns the id (the usual case); frees it if a late kick hit a socket we re-registered.
    this.cluster.release(id);
  }

  /** Called when a socket closed: frees its id unless another socket took it over. */
  forget(socket: PeerSocket, code: number): void {
    const peer = socket.peer;
    if (peer === undefined) return;
    socket.peer = undefined;
    if (this.realm.peers.get(peer.id) === peer) {
      this.realm.peers.delete(peer.id);
      // A same-token socket may be claiming the id right now; its claim must not be undone.
      if (!this.claiming.has(peer.id)) this.cluster.release(peer.id);
      this.logger.info('peer disconnected', { id: peer.id, code });
    }
  }

  /** Unregisters a peer at once (its id is free from now on) and closes its socket. */
  private disconnect(peer: Peer<PeerSocket>, code: number, reason: string): void {
    if (this.realm.peers.get(peer.id) === peer) {
      this.realm.peers.delete(peer.id);
      if (!this.claiming.has(peer.id)) this.cluster.release(peer.id);
      this.logger.info('peer disconnected', { id: peer.id, code, reason });
    }
    peer.socket.peer = undefined;
    closeSoon(peer.socket, code, reason);
  }

  /** Closes peers silent for the alive timeout; pings the quiet ones so a live client answers with a pong. */
  private sweep(sweepEveryMs: number): void {
    const now = monotonicNow();
    for (const peer of this.realm.peers.values()) {
      const silentMs = now - peer.lastSeen;
      if (silentMs >= this.config.aliveTimeoutMs) {
        this.disconnect(peer, CloseCode.TIMED_OUT, 'no heartbeat within the alive timeout');
        // A dead TCP connection never finishes the closing handshake; do not wait for it.
        peer.socket.terminate();
      } else if (silentMs >= sweepEveryMs && peer.socket.readyState === WebSocket.OPEN) {
        peer.socket.ping();
      }
    }
  }

  private armExpiry(deadline: number): void {
    if (this.closing || deadline >= this.expiryAt) return;
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.expiryAt = deadline;
    this.expiryTimer = setTimeout(() => this.runExpiry(), Math.max(0, deadline - monotonicNow()));
    this.expiryTimer.unref();
  }

  private runExpiry(): void {
    this.expiryTimer = undefined;
    this.expiryAt = Infinity;
    expireQueued(this.relayContext);
    const next = this.realm.nextDeadline();
    if (next !== undefined) this.armExpiry(next);
  }

  /** Closes every socket with 1001, waits up to closeTimeoutMs for the handshakes, then terminates the rest. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.realm.clearQueues();
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
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
