// Who is connected, and what waits for peers that are not: pure data with no sockets and no timers of its own.

/** A connected peer. `S` is whatever the transport uses for its socket. */
export interface Peer<S> {
  readonly id: string;
  readonly token: string;
  readonly socket: S;
  /** Time (ms, monotonic) of the last frame or pong from this peer. */
  lastSeen: number;
  /** Rate limit token buckets: frames and payload bytes this peer may still send now, and when they were last refilled. */
  allowance: number;
  byteAllowance: number;
  refilledAt: number;
  /** Characters of every frame sent to this peer (a lower bound of the bytes): how read progress is told apart from a stall. */
  sentChars: number;
}

/** A frame waiting for `dst` to connect. */
interface QueuedMessage {
  readonly src: string;
  readonly dst: string;
  /** The frame exactly as `dst` will receive it (src already set); emptied once settled to free memory early. */
  frame: string;
  /** Time (ms, same clock as lastSeen) after which the message expires. */
  readonly deadline: number;
  /** Set once the message was delivered or dropped, so the timeline can skip it. */
  settled: boolean;
  /** What it was charged against the byte caps. */
  readonly size: number;
}

/** A sender/destination pair whose queued messages expired: tell `src` that `dst` is unavailable. */
export interface ExpiredPair {
  readonly src: string;
  readonly dst: string;
}

/** The waiting messages of one destination and their size. */
interface DestinationQueue {
  messages: QueuedMessage[];
  bytes: number;
}

/** Caps on what waits for absent peers, so no client can grow the server's memory without bound. */
export interface QueueLimits {
  /** Most messages per destination. */
  queueLimit: number;
  /** Most bytes per destination (JSON text plus a fixed overhead per message). */
  queueBytes: number;
  /** Most bytes for all destinations together. */
  queueTotalBytes: number;
}

/**
 * What a queued message costs beyond its text (the message record, array slots, string headers), and
 * what a new destination costs (its map entry and queue), charged against the byte caps so that they
 * bound memory rather than characters. Rough, on the safe side of what V8 uses.
 */
export const MESSAGE_OVERHEAD_BYTES = 256;
export const DESTINATION_OVERHEAD_BYTES = 256;

const UNLIMITED: QueueLimits = { queueLimit: Infinity, queueBytes: Infinity, queueTotalBytes: Infinity };

export class Realm<S> {
  /** Connected peers by id; changed only through add() and remove(). */
  private readonly peers = new Map<string, Peer<S>>();
  /** Undelivered messages by destination id, oldest first. */
  private readonly queues = new Map<string, DestinationQueue>();
  private readonly limits: QueueLimits;
  private totalBytes = 0;
  private queuedCount = 0;
  /**
   * Every queued message in enqueue order. All messages share one expire timeout, so deadlines
   * are non-decreasing along it and expiry only ever looks at the head: no scan of all peers.
   */
  private timeline: QueuedMessage[] = [];
  private timelineHead = 0;

  constructor(limits: QueueLimits = UNLIMITED) {
    this.limits = limits;
  }

  /** Messages waiting for absent peers. */
  get queuedMessages(): number {
    return this.queuedCount;
  }

  /** What they are charged against the byte caps (text plus overheads). */
  get queuedBytes(): number {
    return this.totalBytes;
  }

  /** The peer registered as `id`, if any. */
  get(id: string): Peer<S> | undefined {
    return this.peers.get(id);
  }

  /** Number of registered peers. */
  get size(): number {
    return this.peers.size;
  }

  /** Registered ids (a live view: do not add or remove peers while iterating). */
  ids(): IterableIterator<string> {
    return this.peers.keys();
  }

  /** Registered peers (a live view: copy it first when the loop may remove peers). */
  all(): IterableIterator<Peer<S>> {
    return this.peers.values();
  }

  /** Registers `peer` under its id, in place of whoever held it; returns the peer it replaced. */
  add(peer: Peer<S>): Peer<S> | undefined {
    const previous = this.peers.get(peer.id);
    this.peers.set(peer.id, peer);
    return previous;
  }

  /** Unregisters `peer` if it still holds its id; false when another peer took it over (or it was gone). */
  remove(peer: Peer<S>): boolean {
    if (this.peers.get(peer.id) !== peer) return false;
    this.peers.delete(peer.id);
    return true;
  }

  /** Queues `frame` for `dst`; returns false (and keeps nothing) when a queue cap would be passed. */
  enqueue(src: string, dst: string, frame: string, deadline: number): boolean {
    const queue = this.queues.get(dst);
    const size = frame.length + MESSAGE_OVERHEAD_BYTES + (queue === undefined ? DESTINATION_OVERHEAD_BYTES : 0);
    const count = queue === undefined ? 0 : queue.messages.length;
    const bytes = queue === undefined ? 0 : queue.bytes;
    if (
      count + 1 > this.limits.queueLimit ||
      bytes + size > this.limits.queueBytes ||
      this.totalBytes + size > this.limits.queueTotalBytes
    ) {
      return false;
    }
    const message: QueuedMessage = { src, dst, frame, deadline, settled: false, size };
    if (queue === undefined) this.queues.set(dst, { messages: [message], bytes: size });
    else {
      queue.messages.push(message);
      queue.bytes += size;
    }
    this.timeline.push(message);
    this.queuedCount++;
    this.totalBytes += size;
    return true;
  }

  /** Removes and returns what waits for `id` with each sender, in the order it was sent. */
  takeQueued(id: string): Array<{ src: string; frame: string; deadline: number }> {
    const queue = this.queues.get(id);
    if (queue === undefined) return [];
    this.queues.delete(id);
    this.totalBytes -= queue.bytes;
    this.queuedCount -= queue.messages.length;
    return queue.messages.map((message) => {
      const taken = { src: message.src, frame: message.frame, deadline: message.deadline };
      message.settled = true;
      message.frame = '';
      return taken;
    });
  }

  /** Deadline of the oldest waiting message, or undefined when nothing waits. */
  nextDeadline(): number | undefined {
    this.skipSettled();
    return this.timeline[this.timelineHead]?.deadline;
  }

  /**
   * Drops every message whose deadline is at or before `now`, together with all later messages of
   * the same sender to the same destination (that peer is unavailable to this sender now), and
   * returns each affected sender/destination pair once.
   */
  expire(now: number): ExpiredPair[] {
    const expired: ExpiredPair[] = [];
    for (;;) {
      this.skipSettled();
      const head = this.timeline[this.timelineHead];
      if (head === undefined || head.deadline > now) break;
      expired.push({ src: head.src, dst: head.dst });
      this.dropPair(head.src, head.dst);
    }
    this.compactTimeline();
    return expired;
  }

  private dropPair(src: string, dst: string): void {
    const queue = this.queues.get(dst);
    if (queue === undefined) return;
    const kept: QueuedMessage[] = [];
    for (const message of queue.messages) {
      if (message.src === src) {
        queue.bytes -= message.size;
        this.totalBytes -= message.size;
        message.settled = true;
        message.frame = '';
        this.queuedCount--;
      } else {
        kept.push(message);
      }
    }
    if (kept.length === 0) this.queues.delete(dst);
    else queue.messages = kept;
  }

  private skipSettled(): void {
    while (this.timelineHead < this.timeline.length && this.timeline[this.timelineHead]!.settled) {
      this.timelineHead++;
    }
    if (this.timelineHead === this.timeline.length && this.timelineHead > 0) {
      this.timeline = [];
      this.timelineHead = 0;
    }
  }

  /** Reclaims the consumed front of the timeline once it is the larger part. */
  private compactTimeline(): void {
    if (this.timelineHead > 1024 && this.timelineHead * 2 > this.timeline.length) {
      this.timeline = this.timeline.slice(this.timelineHead);
      this.timelineHead = 0;
    }
  }

  /** Forgets every waiting message (used on shutdown). */
  clearQueues(): void {
    for (const message of this.timeline) message.settled = true;
    this.queues.clear();
    this.timeline = [];
    this.timelineHead = 0;
    this.totalBytes = 0;
    this.queuedCount = 0;
  }
}
