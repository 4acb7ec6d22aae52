// Who is connected, and what waits for peers that are not: pure data with no sockets and no timers of its own.

/** A connected peer. `S` is whatever the transport uses for its socket. */
export interface Peer<S> {
  readonly id: string;
  readonly token: string;
  readonly socket: S;
  /** Date.now() of the last frame or pong from this peer. */
  lastSeen: number;
}

/** A frame waiting for `dst` to connect. */
interface QueuedMessage {
  readonly src: string;
  readonly dst: string;
  /** The frame exactly as `dst` will receive it (src already set). */
  readonly frame: string;
  /** Date.now() after which the message expires. */
  readonly deadline: number;
  /** Set once the message was delivered or dropped, so the timeline can skip it. */
  settled: boolean;
}

/** A sender/destination pair whose queued messages expired: tell `src` that `dst` is unavailable. */
export interface ExpiredPair {
  readonly src: string;
  readonly dst: string;
}

export class Realm<S> {
  /** Connected peers by id. */
  readonly peers = new Map<string, Peer<S>>();
  /** Undelivered messages by destination id, oldest first. */
  private readonly queues = new Map<string, QueuedMessage[]>();
  /**
   * Every queued message in enqueue order. All messages share one expire timeout, so deadlines
   * are non-decreasing along it and expiry only ever looks at the head: no scan of all peers.
   */
  private timeline: QueuedMessage[] = [];
  private timelineHead = 0;
  private queuedCount = 0;

  /** Number of messages waiting for absent peers. */
  get queuedMessages(): number {
    return this.queuedCount;
  }

  /** Number of destinations with at least one waiting message. */
  get queuedDestinations(): number {
    return this.queues.size;
  }

  enqueue(src: string, dst: string, frame: string, deadline: number): void {
    const message: QueuedMessage = { src, dst, frame, deadline, settled: false };
    let queue = this.queues.get(dst);
    if (queue === undefined) {
      queue = [];
      this.queues.set(dst, queue);
    }
    queue.push(message);
    this.timeline.push(message);
    this.queuedCount++;
  }

  /** Removes and returns the frames waiting for `id`, in the order they were sent. */
  takeQueued(id: string): string[] {
    const queue = this.queues.get(id);
    if (queue === undefined) return [];
    this.queues.delete(id);
    this.queuedCount -= queue.length;
    return queue.map((message) => {
      message.settled = true;
      return message.frame;
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
    for (const message of queue) {
      if (message.src === src) {
        message.settled = true;
        this.queuedCount--;
      } else {
        kept.push(message);
      }
    }
    if (kept.length === 0) this.queues.delete(dst);
    else this.queues.set(dst, kept);
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
    this.queuedCount = 0;
  }
}
