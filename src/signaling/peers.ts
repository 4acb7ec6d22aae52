// The peer lifecycle: admit, register, replace, one unregister(), the liveness sweep, the stall check and queue expiry.
import type { ClaimResult, ClusterBackend, ClusterHooks } from '../cluster/backend.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createSecretMatcher } from '../secrets.js';
import { verifyPeerToken } from '../tokens.js';
import {
  CloseCode,
  ExtraWireError,
  ID_TAKEN_FRAME,
  OPEN_FRAME,
  WireError,
  errorFrame,
  isValidId,
  isValidToken,
} from './protocol.js';
import { Faults } from './faults.js';
import { noObserver, type RefusalReason, type SignalingObserver } from './observer.js';
import { Realm, type Peer } from './realm.js';
import {
  deliverFromRemote,
  expireQueued,
  flushQueued,
  flushToRemote,
  reply,
  sendToPeer,
  type RelayContext,
  type SocketOps,
} from './relay.js';

/** What the lifecycle does to sockets, on top of what the relay does; the transport implements it. */
export interface PeerSocketOps<S> extends SocketOps<S> {
  /** Ties the socket to the peer it registered as; `undefined` unties it, and its frames are ignored from then on. */
  bind(socket: S, peer: Peer<S> | undefined): void;
  /** Starts the closing handshake; the transport cuts the connection off if the client does not finish it soon. */
  close(socket: S, code: number, reason: string): void;
  /** Drops the connection at once, for a peer that would not answer a closing handshake. */
  terminate(socket: S): void;
  /** Asks a quiet peer for a pong. */
  ping(socket: S): void;
  /** Stops reading the socket: a flooder's further writes back up on its own side. */
  stopReading(socket: S): void;
  /** Reads the socket again after stopReading(). */
  resumeReading(socket: S): void;
}

/** The query of a signaling socket (`?key=&id=&token=`) and the client's address. */
export interface Admission {
  readonly key: string | null;
  readonly id: string | null;
  readonly token: string | null;
  readonly ip: string;
}

/** Why a peer leaves, and what becomes of its id and its socket. */
export interface Unregistering {
  /** The close code: the one the socket is closed with, or the one it already closed with. */
  readonly code: number;
  readonly reason?: string;
  /** Give the id back to the cluster; false when another instance owns it already. */
  readonly release: boolean;
  /**
   * `handshake`: close the socket with `code`; `terminate`: cut it off, for a peer that would not
   * finish a closing handshake; `none`: the socket is closed already.
   */
  readonly socket: 'handshake' | 'terminate' | 'none';
}

/** A peer with unread data in its send buffer, and what it looked like at the last check. */
interface Backlog {
  buffered: number;
  sentChars: number;
  progressAt: number;
  /** Not read from until it reads again (it left its own replies unread). */
  paused: boolean;
}

/** Refuses a new socket: ERROR with `message` (ID-TAKEN without one), then close 1008; `why` is for the log. */
type Refuse = (reason: RefusalReason, why: string, message?: string) => void;

/** Milliseconds on a clock that never steps: a wall-clock jump must not rate-limit or time out every peer at once. */
export const monotonicNow = (): number => performance.now();

export class Peers<S> {
  readonly relay: RelayContext<S>;
  readonly observer: SignalingObserver;
  private readonly realm: Realm<S>;
  private readonly config: Readonly<Config>;
  private readonly logger: Logger;
  private readonly ops: PeerSocketOps<S>;
  private readonly cluster: ClusterBackend;
  private readonly isKey: (given: string) => boolean;
  /** Ids whose cluster-wide claim is in flight, with the claiming token. */
  private readonly claiming = new Map<string, string>();
  /** Peers with data waiting to be read: watched by the stall check until their buffer is empty. */
  private readonly backlogs = new Map<Peer<S>, Backlog>();
  private readonly sweepTimer: NodeJS.Timeout;
  private stallTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt = Infinity;
  private stopped = false;

  constructor(
    config: Readonly<Config>,
    logger: Logger,
    ops: PeerSocketOps<S>,
    cluster: ClusterBackend,
    observer: SignalingObserver = noObserver,
  ) {
    this.config = config;
    this.observer = observer;
    this.logger = logger;
    this.ops = ops;
    this.cluster = cluster;
    this.isKey = createSecretMatcher(config.key);
    this.realm = new Realm<S>(config);
    this.relay = {
      realm: this.realm,
      ops,
      cluster,
      config,
      logger,
      observer,
      faults: new Faults(config.faults),
      now: monotonicNow,
      framesHandled: 0,
      onQueued: (deadline) => this.armExpiry(deadline),
      onLeave: (peer) => {
        observer.left(peer.id);
        this.unregister(peer, { code: CloseCode.NORMAL, reason: 'left', release: true, socket: 'handshake' });
      },
      onRateLimited: (peer) => {
        this.logger.warn('peer rate limited', { id: peer.id });
        observer.refused('rate', peer.id);
        observer.errorSent(ExtraWireError.RATE_LIMITED, peer.id);
        ops.send(peer.socket, errorFrame(ExtraWireError.RATE_LIMITED));
        this.unregister(peer, { code: CloseCode.POLICY_VIOLATION, reason: 'rate limit exceeded', release: true, socket: 'handshake' });
        ops.stopReading(peer.socket);
      },
      onBacklog: (peer) => this.watchBacklog(peer),
      onRepliesUnread: (peer) => {
        const backlog = this.backlogs.get(peer);
        if (backlog === undefined || backlog.paused) return;
        backlog.paused = true;
        ops.stopReading(peer.socket);
      },
    };
    // One sweep per server, a third of the alive timeout: a silent peer is closed within 4/3 of it.
    const sweepEveryMs = Math.max(10, Math.floor(config.aliveTimeoutMs / 3));
    this.sweepTimer = setInterval(() => this.sweep(sweepEveryMs), sweepEveryMs);
    this.sweepTimer.unref();
  }

  get count(): number {
    return this.realm.size;
  }

  /** Messages waiting for absent peers, and their bytes as the caps count them. */
  queued(): { messages: number; bytes: number } {
    return { messages: this.realm.queuedMessages, bytes: this.realm.queuedBytes };
  }

  /** Whether `id` is registered here. */
  has(id: string): boolean {
    return this.realm.get(id) !== undefined;
  }

  /** The ids registered here. */
  ids(): IterableIterator<string> {
    return this.realm.ids();
  }

  /** Takes a new socket: checks its query, claims its id (across the cluster if there is one) and registers it. */
  admit(socket: S, admission: Admission): void {
    const { key, id, token, ip } = admission;
    const loggedId = id !== null && isValidId(id) ? id : undefined;
    const refuse: Refuse = (reason, why, message) => {
      this.logger.info('peer refused', { id: loggedId, ip, reason: why });
      this.observer.refused(reason, loggedId);
      if (message === undefined) {
        this.observer.idTaken(id ?? '');
        this.ops.send(socket, ID_TAKEN_FRAME);
      } else {
        this.observer.errorSent(message, loggedId);
        this.ops.send(socket, errorFrame(message));
      }
      this.ops.close(socket, CloseCode.POLICY_VIOLATION, why);
    };
    if (!key || !id || !token) return refuse('parameters', 'missing parameters', WireError.INVALID_WS_PARAMETERS);
    if (!this.isKey(key)) return refuse('key', 'invalid key', WireError.INVALID_KEY);
    if (!isValidId(id)) return refuse('id', 'invalid id', ExtraWireError.INVALID_ID);
    if (!isValidToken(token)) return refuse('token', 'invalid token', ExtraWireError.INVALID_TOKEN);
    if (this.config.tokenSecret !== undefined) {
      const check = verifyPeerToken(token, id, this.config.tokenSecret);
      if (check === 'expired') return refuse('token', 'expired token', ExtraWireError.TOKEN_EXPIRED);
      if (check !== 'ok') return refuse('token', `${check} token`, ExtraWireError.TOKEN_REJECTED);
    }
    if (this.claiming.has(id)) return refuse('id-taken', 'id taken');
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
        this.observer.refused('cluster', id);
        this.ops.close(socket, CloseCode.INTERNAL_ERROR, 'cluster unavailable, try again');
      },
    );
  }

  /** The local checks: an id held here by a live socket with another token, and the concurrent limit. */
  private admissible(id: string, token: string, refuse: Refuse): boolean {
    const existing = this.realm.get(id);
    if (existing !== undefined && this.ops.isOpen(existing.socket) && existing.token !== token) {
      refuse('id-taken', 'id taken');
      return false;
    }
    if (existing === undefined && this.realm.size >= this.config.concurrentLimit) {
      refuse('limit', 'concurrent limit', WireError.CONNECTION_LIMIT_EXCEED);
      return false;
    }
    return true;
  }

  private register(
    socket: S,
    id: string,
    token: string,
    ip: string,
    claim: ClaimResult,
    refuse: Refuse,
  ): void {
    if (claim.outcome === 'taken') return refuse('id-taken', 'id taken on another instance');
    if (!this.ops.isOpen(socket) || this.stopped) {
      // The client left while the claim was in flight.
      if (!this.has(id)) this.cluster.release(id);
      return;
    }
    // Things may have changed during an asynchronous claim: check again, and give the id back if refused.
    if (!this.admissible(id, token, refuse)) {
      if (!this.has(id)) this.cluster.release(id);
      return;
    }
    const now = monotonicNow();
    const peer: Peer<S> = {
      id,
      token,
      socket,
      lastSeen: now,
      allowance: this.config.rateBurst,
      byteAllowance: this.config.rateBytesBurst,
      refilledAt: now,
      sentChars: 0,
    };
    this.ops.bind(socket, peer);
    const replaced = this.realm.add(peer);
    if (replaced !== undefined) {
      const reason = 'replaced by a new connection with the same id and token';
      this.unregister(replaced, { code: CloseCode.REPLACED, reason, release: false, socket: 'handshake' });
    }
    const reconnected = replaced !== undefined || claim.outcome === 'took-over';
    this.logger.info(reconnected ? 'peer reconnected' : 'peer connected', { id, ip });
    this.observer.peerOpened(id, reconnected);
    sendToPeer(this.relay, peer, OPEN_FRAME);
    flushQueued(this.relay, peer);
  }

  /**
   * The one way a peer leaves: it loses its id here (unless another socket holds it already), its
   * socket's frames are ignored from now on, and the socket is closed as asked.
   */
  unregister(peer: Peer<S>, how: Unregistering): void {
    this.ops.bind(peer.socket, undefined);
    this.backlogs.delete(peer);
    if (this.realm.remove(peer)) {
      // A same-token socket may be claiming the id right now; its claim must not be undone.
      if (how.release && !this.claiming.has(peer.id)) this.cluster.release(peer.id);
      this.logger.info('peer disconnected', { id: peer.id, code: how.code, reason: how.reason });
      this.observer.peerClosed(peer.id, how.code);
    }
    if (how.socket === 'terminate') this.ops.terminate(peer.socket);
    else if (how.socket === 'handshake') this.ops.close(peer.socket, how.code, how.reason ?? '');
  }

  /** An operator disconnects `id` (fault injection): it leaves as any peer does; false when it is not here. */
  disconnect(id: string): boolean {
    const peer = this.realm.get(id);
    if (peer === undefined) return false;
    this.unregister(peer, { code: CloseCode.DISCONNECTED, reason: 'disconnected by an operator', release: true, socket: 'handshake' });
    return true;
  }

  /** A pong from `peer`: it is alive even if it sends nothing. */
  ponged(peer: Peer<S>): void {
    peer.lastSeen = monotonicNow();
  }

  /** Closes peers silent for the alive timeout; pings the quiet ones so a live client answers with a pong. */
  private sweep(sweepEveryMs: number): void {
    const now = monotonicNow();
    const silent: Array<Peer<S>> = [];
    for (const peer of this.realm.all()) {
      const silentMs = now - peer.lastSeen;
      if (silentMs >= this.config.aliveTimeoutMs) silent.push(peer);
      else if (silentMs >= sweepEveryMs && this.ops.isOpen(peer.socket)) this.ops.ping(peer.socket);
    }
    for (const peer of silent) {
      // A dead TCP connection never finishes the closing handshake; do not wait for it.
      const reason = 'no heartbeat within the alive timeout';
      this.unregister(peer, { code: CloseCode.TIMED_OUT, reason, release: true, socket: 'terminate' });
    }
  }

  /** Starts watching a peer whose send buffer holds data (see checkBacklogs). */
  private watchBacklog(peer: Peer<S>): void {
    if (this.backlogs.has(peer) || this.stopped) return;
    this.backlogs.set(peer, {
      buffered: this.ops.bufferedAmount(peer.socket),
      sentChars: peer.sentChars,
      progressAt: monotonicNow(),
      paused: false,
    });
    if (this.stallTimer === undefined) {
      // Four checks per stall timeout: a stalled peer goes within 5/4 of it.
      const everyMs = Math.max(25, Math.floor(this.config.stallTimeoutMs / 4));
      this.stallTimer = setInterval(() => this.checkBacklogs(), everyMs);
      this.stallTimer.unref();
    }
  }

  /**
   * A peer has read something since the last check when its buffer is smaller than it was plus what
   * was sent to it since (counted in characters, which never exceed the bytes, so a stall is never
   * mistaken for progress). One that reads nothing for stallTimeoutMs has stopped reading, and is
   * cut off: it would never finish a closing handshake either. Senders then get EXPIRE for it. A
   * peer that was not read from because it left its replies unread is read again once it reads.
   */
  private checkBacklogs(): void {
    const now = monotonicNow();
    const stalled: Array<Peer<S>> = [];
    for (const [peer, backlog] of this.backlogs) {
      const open = this.ops.isOpen(peer.socket);
      const buffered = open ? this.ops.bufferedAmount(peer.socket) : 0;
      const progress = buffered < backlog.buffered + (peer.sentChars - backlog.sentChars);
      if (open && backlog.paused && (buffered === 0 || progress)) {
        backlog.paused = false;
        this.ops.resumeReading(peer.socket);
      }
      if (buffered === 0) {
        this.backlogs.delete(peer);
        continue;
      }
      if (progress) backlog.progressAt = now;
      else if (now - backlog.progressAt >= this.config.stallTimeoutMs) stalled.push(peer);
      backlog.buffered = buffered;
      backlog.sentChars = peer.sentChars;
    }
    for (const peer of stalled) {
      this.logger.warn('peer not reading, disconnected', { id: peer.id, buffered: this.ops.bufferedAmount(peer.socket) });
      this.unregister(peer, { code: CloseCode.POLICY_VIOLATION, reason: 'not reading', release: true, socket: 'terminate' });
    }
    if (this.backlogs.size === 0) {
      clearInterval(this.stallTimer);
      this.stallTimer = undefined;
    }
  }

  private armExpiry(deadline: number): void {
    if (this.stopped || deadline >= this.expiryAt) return;
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.expiryAt = deadline;
    this.expiryTimer = setTimeout(() => this.runExpiry(), Math.max(0, deadline - monotonicNow()));
    this.expiryTimer.unref();
  }

  private runExpiry(): void {
    this.expiryTimer = undefined;
    this.expiryAt = Infinity;
    expireQueued(this.relay);
    const next = this.realm.nextDeadline();
    if (next !== undefined) this.armExpiry(next);
  }

  /** Hooks the cluster backend calls: remote deliveries, take-overs, joins elsewhere, re-registration. */
  clusterHooks(): ClusterHooks {
    // Another instance owns the id now. Releasing is a no-op then, but frees the id if a late kick hit
    // a socket that claimed it again here meanwhile.
    const handOver = (peer: Peer<S>, code: number, reason: string): void =>
      this.unregister(peer, { code, reason, release: true, socket: 'handshake' });
    return {
      deliver: (delivery) => deliverFromRemote(this.relay, delivery),
      kick: (id) => {
        const peer = this.realm.get(id);
        if (peer !== undefined) handOver(peer, CloseCode.REPLACED, 'replaced by a new connection on another instance');
      },
      joined: (id) => flushToRemote(this.relay, id),
      count: () => this.realm.size,
      localPeers: () => [...this.realm.all()].map((peer) => ({ id: peer.id, token: peer.token })),
      lost: (id) => {
        const peer = this.realm.get(id);
        if (peer === undefined) return;
        this.observer.idTaken(id);
        reply(this.relay, peer, ID_TAKEN_FRAME);
        handOver(peer, CloseCode.POLICY_VIOLATION, 'id claimed on another instance');
      },
    };
  }

  /** Stops the timers and forgets queued messages (shutdown); the transport closes the sockets. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    clearInterval(this.stallTimer);
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.realm.clearQueues();
    this.backlogs.clear();
    this.relay.faults.stop();
  }
}
