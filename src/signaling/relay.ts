// One switch over message.type, and where a frame goes: a local socket, another instance, a queue, or back as EXPIRE.
import type { ClusterBackend, RemoteDelivery } from '../cluster/backend.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { ExtraWireError, MessageType, QUEUED_TYPES, errorFrame, expireFrame, isValidId } from './protocol.js';
import type { Faults } from './faults.js';
import type { SignalingObserver } from './observer.js';
import type { Peer, Realm } from './realm.js';
import { replaceSrc } from './set-src.js';

/** What the relay needs from the transport, passed once so no per-peer wrapper objects exist. */
export interface SocketOps<S> {
  send(socket: S, frame: string): void;
  /** False once the socket is closing or closed: such a destination counts as absent. */
  isOpen(socket: S): boolean;
  /** Bytes sent to the socket but not yet handed to the kernel: grows while the peer reads slower than it is sent to. */
  bufferedAmount(socket: S): number;
}

/** The settings the relay reads. */
export type RelayConfig = Pick<
  Config,
  'expireTimeoutMs' | 'rateLimitPerSec' | 'rateBurst' | 'rateBytesPerSec' | 'rateBytesBurst' | 'maxBufferedBytes'
>;

export interface RelayContext<S> {
  readonly realm: Realm<S>;
  readonly ops: SocketOps<S>;
  readonly cluster: ClusterBackend;
  readonly config: RelayConfig;
  readonly logger: Logger;
  readonly observer: SignalingObserver;
  /** Fault injection for tests of applications: off (and never asked) unless faults were set. */
  readonly faults: Faults;
  /** Called after a message was queued, so the owner can arm its expiry timer. */
  onQueued(deadline: number): void;
  /** Called when a peer asked to leave (LEAVE without dst). */
  onLeave(peer: Peer<S>): void;
  /** Called when a peer sent faster than a rate limit allows: the owner answers ERROR and closes it. */
  onRateLimited(peer: Peer<S>): void;
  /** Called when data waits in a peer's send buffer, so the owner can watch it for read progress. */
  onBacklog(peer: Peer<S>): void;
  /** Called when a reply to `peer` was dropped because it does not read its replies: the owner stops reading it for a while. */
  onRepliesUnread(peer: Peer<S>): void;
  now(): number;
  /** Frames other than heartbeats taken from peers so far (counted here, read by the transport's owner). */
  framesHandled: number;
}

/**
 * Two token buckets per peer, refilled together: frames (rateLimitPerSec up to rateBurst, one per
 * frame) and payload bytes (rateBytesPerSec up to rateBytesBurst). A rate of 0 turns its bucket off.
 */
function withinRate<S>(ctx: RelayContext<S>, peer: Peer<S>, now: number, bytes: number): boolean {
  const { rateLimitPerSec, rateBurst, rateBytesPerSec, rateBytesBurst } = ctx.config;
  const elapsedSec = Math.max(0, now - peer.refilledAt) / 1000;
  peer.refilledAt = now;
  if (rateLimitPerSec > 0) peer.allowance = Math.min(rateBurst, peer.allowance + elapsedSec * rateLimitPerSec);
  if (rateBytesPerSec > 0) peer.byteAllowance = Math.min(rateBytesBurst, peer.byteAllowance + elapsedSec * rateBytesPerSec);
  if ((rateLimitPerSec > 0 && peer.allowance < 1) || (rateBytesPerSec > 0 && peer.byteAllowance < bytes)) return false;
  peer.allowance -= 1;
  peer.byteAllowance -= bytes;
  return true;
}

const RELAY_SUFFIX_START = ',"src":"';

/**
 * Sets `src` to the sender's id. When the sender's object has no `src` key at all, appending the
 * field to the original text is exact and saves re-serialising the payload (SDP is most of the
 * bytes). A client-supplied `src`, in any spelling JSON allows, shows up in the parsed object, and
 * then every top-level `src` member is cut out of the text; a spoofed `src` never reaches the receiver.
 */
function withServerSrc(text: string, message: Record<string, unknown>, senderId: string): string {
  if (!Object.prototype.hasOwnProperty.call(message, 'src')) {
    const end = text.lastIndexOf('}');
    // Ids are validated to [A-Za-z0-9 _-], so they need no JSON escaping.
    return text.slice(0, end) + RELAY_SUFFIX_START + senderId + '"}';
  }
  return replaceSrc(text, senderId);
}

/**
 * Marks `sender` alive and charges one frame of `bytes` against its rates; false (and the sender is
 * being closed) when it is over a limit. Every frame goes through here first, whatever its kind.
 */
export function admitFrame<S>(ctx: RelayContext<S>, sender: Peer<S>, bytes: number): boolean {
  const now = ctx.now();
  sender.lastSeen = now;
  if (withinRate(ctx, sender, now, bytes)) return true;
  ctx.onRateLimited(sender);
  return false;
}

/**
 * Sends `frame` to a registered peer unless its send buffer already holds more than
 * maxBufferedBytes: then nothing is sent and the caller tells whoever the frame was from. A peer
 * that reads slowly therefore costs its senders refusals, never its own connection; only a peer
 * that stops reading altogether is cut off, by the owner's stall check that onBacklog arms.
 */
export function sendToPeer<S>(ctx: RelayContext<S>, peer: Peer<S>, frame: string): boolean {
  const buffered = ctx.ops.bufferedAmount(peer.socket);
  if (buffered > 0) {
    ctx.onBacklog(peer);
    if (buffered > ctx.config.maxBufferedBytes) return false;
  }
  peer.sentChars += frame.length;
  ctx.ops.send(peer.socket, frame);
  return true;
}

/** Sends the sender an ERROR frame with `message` (one of the wire error strings). */
export function replyError<S>(ctx: RelayContext<S>, sender: Peer<S>, message: string): void {
  ctx.observer.errorSent(message, sender.id);
  reply(ctx, sender, errorFrame(message));
}

/**
 * Answers the sender itself (an ERROR). A sender that does not read its answers is not read either
 * until it catches up: otherwise it could make the server parse frames and drop replies at full speed.
 */
export function reply<S>(ctx: RelayContext<S>, sender: Peer<S>, frame: string): void {
  if (sendToPeer(ctx, sender, frame)) return;
  ctx.logger.debug('reply dropped: sender not reading', { id: sender.id });
  ctx.onRepliesUnread(sender);
}

/** The frame as an object with a string `type`, or undefined for anything else (bad JSON, arrays, scalars). */
function parseMessage(text: string): Record<string, unknown> | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return undefined;
  return typeof (message as Record<string, unknown>).type === 'string' ? (message as Record<string, unknown>) : undefined;
}

/** Handles one text frame of `bytes` bytes from `sender`. Never throws on any input. */
export function handleFrame<S>(ctx: RelayContext<S>, sender: Peer<S>, text: string, bytes: number): void {
  if (!admitFrame(ctx, sender, bytes)) return;
  ctx.framesHandled++;
  const fields = parseMessage(text);
  if (fields === undefined) {
    replyError(ctx, sender, ExtraWireError.INVALID_MESSAGE);
    return;
  }
  const type = fields.type as string;

  switch (type) {
    case MessageType.HEARTBEAT:
      return;
    case MessageType.LEAVE:
      if (fields.dst === undefined) {
        ctx.onLeave(sender);
        return;
      }
      relay(ctx, sender, type, fields, text);
      return;
    case MessageType.OFFER:
    case MessageType.ANSWER:
    case MessageType.CANDIDATE:
    case MessageType.EXPIRE:
      relay(ctx, sender, type, fields, text);
      return;
    default:
      // The peerjs client treats every ERROR as fatal and disconnects: a type we do not know (a newer
      // client's, say) is ignored, as the official server ignores it.
      ctx.logger.debug('message of unknown type ignored', { id: sender.id, type: type.slice(0, 32) });
  }
}

function relay<S>(ctx: RelayContext<S>, sender: Peer<S>, type: string, fields: Record<string, unknown>, text: string): void {
  const dst = fields.dst;
  if (typeof dst !== 'string' || dst.length === 0) {
    replyError(ctx, sender, ExtraWireError.MISSING_DST);
    return;
  }
  ctx.observer.relayed(type, sender.id, dst, text.length, fields);
  const delivery: RemoteDelivery = { dst, src: sender.id, frame: withServerSrc(text, fields, sender.id), queueable: QUEUED_TYPES.has(type) };
  const fault = ctx.faults.active ? ctx.faults.decide(type) : 0;
  if (fault === 0) return deliver(ctx, delivery);
  // Dropped or held on purpose (fault injection): told to the observer, so a transcript shows it.
  ctx.observer.faulted(type, sender.id, dst, fault === 'drop' ? undefined : fault);
  if (fault !== 'drop') ctx.faults.hold(fault, () => deliver(ctx, delivery));
}

/** What became of a frame for a peer of this instance. */
type LocalOutcome = 'sent' | 'absent' | 'congested';

/** Sends to `dst`'s socket if it is connected here and open. */
function deliverHere<S>(ctx: RelayContext<S>, delivery: RemoteDelivery): LocalOutcome {
  const target = ctx.realm.get(delivery.dst);
  if (target === undefined || !ctx.ops.isOpen(target.socket)) return 'absent';
  if (!sendToPeer(ctx, target, delivery.frame)) return 'congested';
  if (delivery.notice !== true) ctx.observer.delivered(delivery.src, delivery.dst, delivery.frame, 0);
  return 'sent';
}

/**
 * `dst` is here but has more unread data than it may hold: the sender pays. A queueable message
 * gets EXPIRE back, as for an unavailable peer (the peerjs client raises `peer-unavailable` and stays
 * connected); LEAVE and EXPIRE are dropped, as they are for an absent peer.
 */
function refuseCongested<S>(ctx: RelayContext<S>, delivery: RemoteDelivery): void {
  ctx.logger.debug('message refused: destination not reading fast enough', { src: delivery.src, dst: delivery.dst });
  ctx.observer.refused('congested', delivery.src);
  if (delivery.queueable) notifyUnavailable(ctx, delivery.src, delivery.dst);
}

/** True when `dst` is connected here: the frame was sent, or refused because `dst` reads too slowly. */
function handledHere<S>(ctx: RelayContext<S>, delivery: RemoteDelivery): boolean {
  const outcome = deliverHere(ctx, delivery);
  if (outcome === 'absent') return false;
  if (outcome === 'congested') refuseCongested(ctx, delivery);
  return true;
}

/** Routes a frame: this instance's socket, else the instance holding `dst`, else the absent-peer rules. */
export function deliver<S>(ctx: RelayContext<S>, delivery: RemoteDelivery): void {
  if (handledHere(ctx, delivery)) return;
  if (ctx.cluster.forward(delivery, (gone) => deliverReturned(ctx, gone))) return;
  deliverAbsent(ctx, delivery);
}

/**
 * A frame the cluster handed back (its holder was gone, or `dst` connected here while it waited for a lookup): to the
 * socket if `dst` is connected here by now, else the absent-peer rules.
 */
function deliverReturned<S>(ctx: RelayContext<S>, delivery: RemoteDelivery): void {
  if (!handledHere(ctx, delivery)) deliverAbsent(ctx, delivery);
}

/**
 * A frame another instance sent us; true when `dst` is connected here. If `dst` moved on to a third
 * instance meanwhile (the sender's route was a step behind), pass it on once; a frame passed on
 * already is delivered here or treated as absent, so frames never loop.
 */
export function deliverFromRemote<S>(ctx: RelayContext<S>, delivery: RemoteDelivery): boolean {
  if (handledHere(ctx, delivery)) return true;
  if (delivery.forwarded !== true) {
    const onward: RemoteDelivery = { ...delivery, forwarded: true };
    if (ctx.cluster.forward(onward, (gone) => deliverReturned(ctx, gone))) return false;
  }
  deliverAbsent(ctx, delivery);
  return false;
}

/** `dst` is connected nowhere we know of: queue OFFER/ANSWER/CANDIDATE, drop LEAVE/EXPIRE. */
function deliverAbsent<S>(ctx: RelayContext<S>, delivery: RemoteDelivery): void {
  if (!delivery.queueable) return;
  // A frame that waited here before keeps its deadline: passing through the queue again never extends its wait.
  const deadline = delivery.deadline ?? ctx.now() + ctx.config.expireTimeoutMs;
  // Nobody can ever connect with an invalid id, and a full queue takes nothing more: answer at once.
  if (!isValidId(delivery.dst) || !ctx.realm.enqueue(delivery.src, delivery.dst, delivery.frame, deadline)) {
    ctx.observer.refused('queue-full', delivery.src);
    notifyUnavailable(ctx, delivery.src, delivery.dst);
    return;
  }
  ctx.observer.queued(delivery.src, delivery.dst);
  ctx.onQueued(deadline);
}

/** Tells `src` (here or on another instance) that `dst` is unavailable. */
function notifyUnavailable<S>(ctx: RelayContext<S>, src: string, dst: string): void {
  ctx.observer.expireSent(src, dst);
  deliver(ctx, { dst: src, src: dst, frame: expireFrame(dst, src), queueable: false, notice: true });
}

/** Sends EXPIRE to each sender whose queued messages expired. */
export function expireQueued<S>(ctx: RelayContext<S>): void {
  for (const { src, dst } of ctx.realm.expire(ctx.now())) notifyUnavailable(ctx, src, dst);
}

/** `peer` has just opened: hand it what waited for it, in order (a sender whose message does not fit gets EXPIRE). */
export function flushQueued<S>(ctx: RelayContext<S>, peer: Peer<S>): void {
  const now = ctx.now();
  for (const { src, frame, deadline } of ctx.realm.takeQueued(peer.id)) {
    if (!sendToPeer(ctx, peer, frame)) notifyUnavailable(ctx, src, peer.id);
    // Every message waits the same expire timeout, so its deadline tells when it was queued.
    else ctx.observer.delivered(src, peer.id, frame, now - (deadline - ctx.config.expireTimeoutMs));
  }
}

/** `id` connected on another instance: forward what waits for it here, in order. */
export function flushToRemote<S>(ctx: RelayContext<S>, id: string): void {
  for (const { src, frame, deadline } of ctx.realm.takeQueued(id)) {
    deliver(ctx, { dst: id, src, frame, queueable: true, deadline });
  }
}
