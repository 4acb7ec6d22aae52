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
  /** A message of `type` from `src` for `dst` was taken for delivery (here, another instance or a queue). */
  relayed(type: string, src: string, dst: string, bytes: number): void;
  /** A message for the absent `dst` waits in its queue. */
  queued(src: string, dst: string): void;
  /** `src` was sent EXPIRE: `dst` is unavailable to it. */
  expireSent(src: string, dst: string): void;
  /** An ERROR frame went to a client (before refusing it, or for a bad message). */
  errorSent(message: string): void;
  /** An ID-TAKEN frame went to a client. */
  idTaken(id: string): void;
  refused(reason: RefusalReason): void;
}

const noop = (): void => {};

export const noObserver: SignalingObserver = {
  peerOpened: noop,
  peerClosed: noop,
  relayed: noop,
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
    relayed: (type, src, dst, bytes) => observers.forEach((o) => o.relayed(type, src, dst, bytes)),
    queued: (src, dst) => observers.forEach((o) => o.queued(src, dst)),
    expireSent: (src, dst) => observers.forEach((o) => o.expireSent(src, dst)),
    errorSent: (message) => observers.forEach((o) => o.errorSent(message)),
    idTaken: (id) => observers.forEach((o) => o.idTaken(id)),
    refused: (reason) => observers.forEach((o) => o.refused(reason)),
  };
}
