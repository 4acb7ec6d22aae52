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
}

/** Calls from the backend into the signaling core. */
export interface ClusterHooks {
  /** A frame arrived for `delivery.dst`, which should be connected here. */
  deliver(delivery: RemoteDelivery): void;
  /** Another instance took over `id` (same id and token connected there): close our socket for it. */
  kick(id: string): void;
  /** `id` is now connected on another instance: hand it anything queued here. */
  joined(id: string): void;
  /** The peers connected here, to register again when the backend (re)joins the cluster, e.g. after a lost connection came back. */
  localPeers(): Iterable<{ id: string; token: string }>;
  /** Ids the backend could not register again (another instance claimed them meanwhile): drop them here. */
  lost(id: string): void;
}

export interface ClusterStatus {
  /** `ok`, or `degraded` while the backend is unreachable (local peers keep working). */
  state: 'ok' | 'degraded';
  /** Peers connected anywhere in the cluster, as far as this instance knows. */
  peers: number;
  /** Live instances, this one included. */
  instances: number;
  /** The backend connection: `connected`, `connecting` or `disconnected`. */
  connection: string;
}

export interface ClusterBackend {
  /** Connects and loads the directory; rejects when the backend is unreachable (unless configured to start alone). */
  start(hooks: ClusterHooks): Promise<void>;
  /** Claims `id` for this instance across the cluster; synchronous when no round trip is needed. */
  claim(id: string, token: string): ClaimResult | Promise<ClaimResult>;
  /** Gives up `id` (its socket closed here); a no-op if another instance owns it now. */
  release(id: string): void;
  /**
   * Hands `delivery` to the instance holding `delivery.dst`, if the directory knows one. Returns
   * false at once when no other instance is known to hold it (or the backend is unreachable); calls
   * `onAbsent` later if the holder turned out to be gone, so the message is queued or expired
   * instead of silently lost.
   */
  forward(delivery: RemoteDelivery, onAbsent: (delivery: RemoteDelivery) => void): boolean;
  /** Ids connected on other instances. */
  remoteIds(): Iterable<string>;
  /** Whether another instance holds `id`, as far as this one knows. */
  isRemote(id: string): boolean;
  /** For /health, given how many peers are connected here; undefined for a single instance. */
  status(localPeers: number): ClusterStatus | undefined;
  /** Leaves the cluster (our ids are free at once) and disconnects; a second call does nothing. */
  close(): Promise<void>;
}
