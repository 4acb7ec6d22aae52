// One switch over message.type, and where a frame goes: a local socket, another instance, a queue, or back as EXPIRE.
import type { ClusterBackend, RemoteDelivery } from '../cluster/backend.js';
import { ExtraWireError, MessageType, QUEUED_TYPES, errorFrame, expireFrame, isValidId } from './protocol.js';
import type { Peer, Realm } from './realm.js';
import { replaceSrc } from './set-src.js';

/** What the relay needs from the transport, passed once so no per-peer wrapper objects exist. */
export interface SocketOps<S> {
  send(socket: S, frame: string): void;
  /** False once the socket is closing or closed: such a destination counts as absent. */
  isOpen(socket: S): boolean;
  /** Bytes sent to the socket but not yet handed to the kernel: grows when the peer does not read. */
  bufferedAmount(socket: S): number;
}

export interface RelayContext<S> {
  readonly realm: Realm<S>;
  readonly ops: SocketOps<S>;
  readonly cluster: ClusterBackend;
  readonly expireTimeoutMs: number;
  /** Average frames per second per peer; 0 disables rate limiting. */
  readonly rateLimitPerSec: number;
  /** Frames a peer may send at once above the rate. */
  readonly rateBurst: number;
  /** A destination with more unsent bytes than this is disconnected instead of buffering more. */
  readonly maxBufferedBytes: number;
  /** Called after a message was queued, so the owner can arm its expiry timer. */
  onQueued(deadline: number): void;
  /** Called when a peer asked to leave (LEAVE without dst). */
  onLeave(peer: Peer<S>): void;
  /** Called when a peer sent faster than the rate limit: the owner answers ERROR and closes it. */
  onRateLimited(peer: Peer<S>): void;
  /** Called when a destination stopped reading: the owner disconnects it. */
  onStalled(peer: Peer<S>): void;
  now(): number;
  /** Frames other than heartbeats taken from peers so far (counted here, read by the transport's owner). */
  framesHandled: number;
}

/** Token bucket: refills at rateLimitPerSec up to rateBurst; each frame costs one. */
function withinRate<S>(ctx: RelayContext<S>, peer: Peer<S>, now: number): boolean {
  if (ctx.rateLimitPerSec === 0) return true;
  const refill = (Math.max(0, now - peer.refilledAt) * ctx.rateLimitPerSec) / 1000;
  peer.allowance = Math.min(ctx.rateBurst, peer.allowance + refill);
  peer.refilledAt = now;
  if (peer.allowance < 1) return false;
  peer.allowance -= 1;
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
 * Marks `sender` alive and charges one frame against its rate; false (and the sender is being
 * closed) when it is over the limit. Every frame goes through here first, whatever its kind.
 */
export function admitFrame<S>(ctx: RelayContext<S>, sender: Peer<S>): boolean {
  const now = ctx.now();
  sender.lastSeen = now;
  if (withinRate(ctx, sender, now)) return true;
  ctx.onRateLimited(sender);
  return false;
}

/**
 * Answers the sender itself (an ERROR). A sender that does not read its answers would otherwise
 * make the server buffer them without end, so it is held to maxBufferedBytes like any destination.
 */
export function reply<S>(ctx: RelayContext<S>, sender: Peer<S>, frame: string): void {
  if (ctx.ops.bufferedAmount(sender.socket) > ctx.maxBufferedBytes) {
    ctx.onStalled(sender);
    return;
  }
  ctx.ops.send(sender.socket, frame);
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

/** Handles one text frame from `sender`. Never throws on any input. */
export function handleFrame<S>(ctx: RelayContext<S>, sender: Peer<S>, text: string): void {
  if (!admitFrame(ctx, sender)) return;
  ctx.framesHandled++;
  const fields = parseMessage(text);
  if (fields === undefined) {
    reply(ctx, sender, errorFrame(ExtraWireError.INVALID_MESSAGE));
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
      reply(ctx, sender, errorFrame(ExtraWireError.UNKNOWN_TYPE));
  }
}

function relay<S>(ctx: RelayContext<S>, sender: Peer<S>, type: string, fields: Record<string, unknown>, text: string): void {
  const dst = fields.dst;
  if (typeof dst !== 'string' || dst.length === 0) {
    reply(ctx, sender, errorFrame(ExtraWireError.MISSING_DST));
    return;
  }
  deliver(ctx, { dst, src: sender.id, frame: withServerSrc(text, fields, sender.id), queueable: QUEUED_TYPES.has(type) });
}

/** Sends to a local socket if `dst` is connected here and reading; returns false otherwise. */
function deliverHere<S>(ctx: RelayContext<S>, delivery: RemoteDelivery): boolean {
  const target = ctx.realm.peers.get(delivery.dst);
  if (target === undefined || !ctx.ops.isOpen(target.socket)) return false;
  if (ctx.ops.bufferedAmount(target.socket) > ctx.maxBufferedBytes) {
    // The destination does not read: drop it rather than buffer without bound; it now counts as absent.
    ctx.onStalled(target);
    return false;
  }
  ctx.ops.send(target.socket, delivery.frame);
  return true;
}

/** Routes a frame: this instance's socket, else the instance holding `dst`, else the absent-peer rules. */
export function deliver<S>(ctx: RelayContext<S>, delivery: RemoteDelivery): void {
  if (deliverHere(ctx, delivery)) return;
  if (ctx.cluster.forward(delivery, (gone) => deliverAbsent(ctx, gone))) return;
  deliverAbsent(ctx, delivery);
}

/**
 * A frame another instance sent us. If `dst` moved on to a third instance meanwhile (the sender's
 * directory was a step behind), pass it on once; a frame passed on already is delivered here or
 * treated as absent, so frames never loop.
 */
export function deliverFromRemote<S>(ctx: RelayContext<S>, delivery: RemoteDelivery): void {
  if (deliverHere(ctx, delivery)) return;
  if (delivery.forwarded !== true) {
    const onward: RemoteDelivery = { ...delivery, forwarded: true };
    if (ctx.cluster.forward(onward, (gone) => deliverAbsent(ctx, gone))) return;
  }
  deliverAbsent(ctx, delivery);
}

/** `dst` is connected nowhere we know of: queue OFFER/ANSWER/CANDIDATE, drop LEAVE/EXPIRE. */
function deliverAbsent<S>(ctx: RelayContext<S>, delivery: RemoteDelivery): void {
  if (!delivery.queueable) return;
  const deadline = ctx.now() + ctx.expireTimeoutMs;
  // Nobody can ever connect with an invalid id, and a full queue takes nothing more: answer at once.
  if (!isValidId(delivery.dst) || !ctx.realm.enqueue(delivery.src, delivery.dst, delivery.frame, deadline)) {
    notifyUnavailable(ctx, delivery.src, delivery.dst);
    return;
  }
  ctx.onQueued(deadline);
}

/** Tells `src` (here or on another instance) that `dst` is unavailable. */
function notifyUnavailable<S>(ctx: RelayContext<S>, src: string, dst: string): void {
  deliver(ctx, { dst: src, src: dst, frame: expireFrame(dst, src), queueable: false });
}

/** Sends EXPIRE to each sender whose queued messages expired. */
export function expireQueued<S>(ctx: RelayContext<S>): void {
  for (const { src, dst } of ctx.realm.expire(ctx.now())) notifyUnavailable(ctx, src, dst);
}

/** `id` connected on another instance: forward what waits for it here, in order. */
export function flushToRemote<S>(ctx: RelayContext<S>, id: string): void {
  for (const { src, frame } of ctx.realm.takeQueuedMessages(id)) {
    deliver(ctx, { dst: id, src, frame, queueable: true });
  }
}
