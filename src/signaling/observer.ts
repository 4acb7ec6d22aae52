// What happens to peers and messages, told to whoever watches (metrics, run summaries, transcripts); nobody by default.

/** Why the server refused a connection or a message. */
export type RefusalReason =
  /** No id, token or key in the socket's query. */
  | 'parameters'
  | 'key'
  | 'id'
  | 'token'
  /** The id is held by another token, here or on another instance. */
  | 'id-taken'
  /** --concurrent-limit. */
  | 'limit'
  /** --allowed-origins. */
  | 'origin'
  /** --max-connections-per-ip. */
  | 'connections-per-ip'
  /** An upgrade to a path that is not the signaling socket. */
  | 'path'
  /** An upgrade while the server shuts down. */
  | 'shutdown'
  /** --rate-limit / --rate-bytes: the sender is closed. */
  | 'rate'
  /** A message for a destination with more than --max-buffered unread. */
  | 'congested'
  /** A message for an absent peer over a queue cap (or for an id nobody can hold). */
  | 'queue-full'
  /** The cluster could not claim the id (Redis unreachable mid-claim). */
  | 'cluster';

/** Called synchronously where things happen: keep the work small (count, or buffer and write later). */
export interface SignalingObserver {
  /** A peer registered (`reconnected`: it replaced a socket with the same id and token). */
  peerOpened(id: string, reconnected: boolean): void;
  /** A registered peer left, with the close code it was closed with (or closed its socket with). */
  peerClosed(id: string, code: number): void;
  /**
   * A message of `type` from `src` for `dst` was taken for delivery (here, another instance or a
   * queue). `message` is the parsed frame: read it, never keep or change it.
   */
  relayed(type: string, src: string, dst: string, bytes: number, message: Readonly<Record<string, unknown>>): void;
  /** A relayed frame went to `dst`'s socket here, after waiting `queuedMs` in its queue (0 when it did not wait). */
  delivered(src: string, dst: string, frame: string, queuedMs: number): void;
  /** `id` asked to leave (LEAVE without dst). */
  left(id: string): void;
  /** Fault injection dropped (`delayMs` undefined) or delayed a message. */
  faulted(type: string, src: string, dst: string, delayMs: number | undefined): void;
  /** A message for the absent `dst` waits in its queue. */
  queued(src: string, dst: string): void;
  /** `src` was sent EXPIRE: `dst` is unavailable to it. */
  expireSent(src: string, dst: string): void;
  /** An ERROR frame went to a client (`id`, when it gave a valid one), before refusing it or for a bad message. */
  errorSent(message: string, id: string | undefined): void;
  /** An ID-TAKEN frame went to a client. */
  idTaken(id: string): void;
  /** A connection or a message was refused; `id` is the peer concerned (the sender of a refused message), when known. */
  refused(reason: RefusalReason, id: string | undefined): void;
}

const noop = (): void => {};

export const noObserver: SignalingObserver = {
  peerOpened: noop,
  peerClosed: noop,
  relayed: noop,
  delivered: noop,
  left: noop,
  faulted: noop,
  queued: noop,
  expireSent: noop,
  errorSent: noop,
  idTaken: noop,
  refused: noop,
};

/** One observer that tells each of `observers`, in order. */
export function combineObservers(observers: readonly SignalingObserver[]): SignalingObserver {
  if (observers.length === 0) return noObserver;
  if (observers.length === 1) return observers[0]!;
  return {
    peerOpened: (id, reconnected) => observers.forEach((o) => o.peerOpened(id, reconnected)),
    peerClosed: (id, code) => observers.forEach((o) => o.peerClosed(id, code)),
    relayed: (type, src, dst, bytes, message) => observers.forEach((o) => o.relayed(type, src, dst, bytes, message)),
    delivered: (src, dst, frame, queuedMs) => observers.forEach((o) => o.delivered(src, dst, frame, queuedMs)),
    left: (id) => observers.forEach((o) => o.left(id)),
    faulted: (type, src, dst, delayMs) => observers.forEach((o) => o.faulted(type, src, dst, delayMs)),
    queued: (src, dst) => observers.forEach((o) => o.queued(src, dst)),
    expireSent: (src, dst) => observers.forEach((o) => o.expireSent(src, dst)),
    errorSent: (message, id) => observers.forEach((o) => o.errorSent(message, id)),
    idTaken: (id) => observers.forEach((o) => o.idTaken(id)),
    refused: (reason, id) => observers.forEach((o) => o.refused(reason, id)),
  };
}
