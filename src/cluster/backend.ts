// interface ClusterBackend: the one seam between the signaling core and where other instances' peers live.

/** What a claim of an id across the cluster found. */
export type ClaimResult =
  /** The id is ours now (it was free, held by a dead instance, or by this instance). */
  | { outcome: 'claimed' }
  /** The same id and token were connected on another live instance, which has been told to drop its socket. */
  | { outcome: 'took-over' }
  /** Another live instance holds the id with another token. */
  | { outcome: 'taken' };

/** A frame from another instance for one of our peers (or for one that has just left us). */
export interface RemoteDelivery {
  readonly dst: string;
  readonly src: string;
  /** The frame exactly as the destination receives it (src already set by the sender's instance). */
  readonly frame: string;
  /** OFFER/ANSWER/CANDIDATE wait in a queue when the destination is absent; LEAVE/EXPIRE do not. */
  readonly queueable: boolean;
  /** Already passed on by an instance the destination had left: delivered there or treated as absent, never passed on again. */
  readonly forwarded?: boolean;
  /** A notice from the server itself (an EXPIRE telling a sender that a peer is unavailable), not a relayed message. */
  readonly notice?: boolean;
  /**
   * When the frame waited in this instance's queue before and is being passed on from there: its
   * deadline (monotonic ms), kept if it has to wait again, so that passing through the queue twice
   * never extends its wait. Local only: never sent to another instance.
   */
  readonly deadline?: number;
}

/** Calls from the backend into the signaling core. */
export interface ClusterHooks {
  /**
   * A frame arrived for `delivery.dst`. True when `dst` is connected here (the frame was sent to it,
   * or refused because it reads too slowly); false when it is not, and the core passed the frame on
   * or treated `dst` as absent.
   */
  deliver(delivery: RemoteDelivery): boolean;
  /** Another instance took over `id` (same id and token connected there): close our socket for it. */
  kick(id: string): void;
  /** `id` is now connected on another instance: hand it anything queued here. */
  joined(id: string): void;
  /** How many peers are connected here (recorded with each lease renewal, for the cluster's peer count). */
  count(): number;
  /** The peers connected here, to register again when the backend (re)joins the cluster, e.g. after a lost connection came back. */
  localPeers(): Iterable<{ id: string; token: string }>;
  /** Ids the backend could not register again (another instance claimed them meanwhile): drop them here. */
  lost(id: string): void;
}

export interface ClusterStatus {
  /** `ok`, or `degraded` while the backend is unreachable (local peers keep working). */
  state: 'ok' | 'degraded';
  /** Peers connected anywhere in the cluster: this instance's now, the others' as of the last lease renewal. */
  peers: number;
  /** Live instances, this one included. */
  instances: number;
  /** The backend connection: `connected`, `connecting` or `disconnected`. */
  connection: string;
}

/** One page of the cluster's ids (GET /peers). */
export interface IdPage {
  readonly ids: string[];
  /** Where the next page starts, or undefined on the last page; opaque to callers. */
  readonly next: string | undefined;
}

/** A cursor that no listing handed out (GET /peers answers 400 for it). */
export class InvalidCursorError extends RangeError {
  override name = 'InvalidCursorError';
}

export interface ClusterBackend {
  /** Connects and joins the cluster; rejects when the backend is unreachable (unless configured to start alone). */
  start(hooks: ClusterHooks): Promise<void>;
  /** Claims `id` for this instance across the cluster; synchronous when no round trip is needed. */
  claim(id: string, token: string): ClaimResult | Promise<ClaimResult>;
  /** Gives up `id` (its socket closed here); a no-op if another instance owns it now. */
  release(id: string): void;
  /**
   * Hands `delivery` to the instance holding `delivery.dst`, finding it first if need be; frames to
   * one destination leave in the order they were given. Returns false at once when the frame must
   * wait here instead (the destination is known to be absent, earlier frames for it wait here, or
   * the backend is unreachable); calls `onAbsent` later, in order, for each frame whose destination
   * turned out to be connected nowhere (or whose holder was gone), so it is queued or expired
   * instead of silently lost.
   */
  forward(delivery: RemoteDelivery, onAbsent: (delivery: RemoteDelivery) => void): boolean;
  /**
   * About `limit` ids connected anywhere in the cluster, starting at `cursor` (undefined: the
   * first page). Rejects with InvalidCursorError for a cursor it never handed out, and with
   * another error when the backend is unreachable.
   */
  listIds(cursor: string | undefined, limit: number): Promise<IdPage>;
  /** For /health, given how many peers are connected here; undefined for a single instance. */
  status(localPeers: number): ClusterStatus | undefined;
  /** Leaves the cluster (our ids are free at once) and disconnects; a second call does nothing. */
  close(): Promise<void>;
}
