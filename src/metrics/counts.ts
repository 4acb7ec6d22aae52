// The SignalingObserver behind --metrics: plain numbers bumped per event, read by the Prometheus registry at scrape time.
import { MessageType } from '../signaling/protocol.js';
import { noObserver, type RefusalReason, type SignalingObserver } from '../signaling/observer.js';

/** Relayed message types, the only values of the `type` label (relay.ts passes no others; any other would not be counted). */
export const RELAYED_TYPES = [MessageType.OFFER, MessageType.ANSWER, MessageType.CANDIDATE, MessageType.LEAVE, MessageType.EXPIRE] as const;

/** Every RefusalReason once; a Record so that the build fails when a reason is added and not listed here. */
const REASONS: Record<RefusalReason, true> = {
  parameters: true,
  key: true,
  id: true,
  token: true,
  'id-taken': true,
  limit: true,
  origin: true,
  'connections-per-ip': true,
  path: true,
  shutdown: true,
  rate: true,
  congested: true,
  'queue-full': true,
  cluster: true,
};
/** The only values of the `reason` label. */
export const REFUSAL_REASONS = Object.keys(REASONS) as RefusalReason[];

/**
 * Close codes with a label of their own: the ones this server closes with (1000 left, 1001 shutdown,
 * 1008 policy, 1009 too big, 1011 internal, 4000 replaced, 4001 timed out) and the ones a client or
 * its network usually ends with (1002 protocol error, 1005 no code, 1006 no close frame). A client
 * can close with any code from 3000 to 4999; the rest count as `other`, so the label set stays fixed.
 */
export const CLOSE_CODES = [1000, 1001, 1002, 1005, 1006, 1008, 1009, 1011, 4000, 4001] as const;
export const OTHER_CODE = 'other';

/** Counts per value of one label: a fixed set known up front, so a client cannot add label values. */
export interface LabelCounts {
  /** The label values, in the order of `counts`. */
  readonly labels: readonly string[];
  readonly counts: number[];
}

function createLabelCounts(values: readonly (string | number)[], other?: string): LabelCounts & { bump(value: string | number): void } {
  const labels = values.map(String);
  if (other !== undefined) labels.push(other);
  const counts = labels.map(() => 0);
  // A Map, not an object: a client-chosen string must not reach Object.prototype's keys.
  const index = new Map<string | number, number>(values.map((value, i) => [value, i]));
  const otherIndex = other === undefined ? -1 : labels.length - 1;
  return {
    labels,
    counts,
    bump(value) {
      const i = index.get(value) ?? otherIndex;
      if (i !== -1) counts[i]!++;
    },
  };
}

/** What happened since the server started, as the metrics report it. */
export interface SignalingCounts {
  readonly relayed: LabelCounts;
  readonly refused: LabelCounts;
  readonly closed: LabelCounts;
  readonly scalars: {
    opened: number;
    reconnected: number;
    queued: number;
    expiresSent: number;
    errorsSent: number;
    idTakenSent: number;
  };
  /** Bumps the numbers above; each call is a lookup and an increment. */
  readonly observer: SignalingObserver;
}

export function createSignalingCounts(): SignalingCounts {
  const relayed = createLabelCounts(RELAYED_TYPES);
  const refused = createLabelCounts(REFUSAL_REASONS);
  const closed = createLabelCounts(CLOSE_CODES, OTHER_CODE);
  const scalars = { opened: 0, reconnected: 0, queued: 0, expiresSent: 0, errorsSent: 0, idTakenSent: 0 };
  return {
    relayed,
    refused,
    closed,
    scalars,
    // Spread over noObserver: events the metrics do not count stay no-ops.
    observer: {
      ...noObserver,
      peerOpened(_id, reconnected) {
        scalars.opened++;
        if (reconnected) scalars.reconnected++;
      },
      peerClosed: (_id, code) => closed.bump(code),
      relayed: (type) => relayed.bump(type),
      queued() {
        scalars.queued++;
      },
      expireSent() {
        scalars.expiresSent++;
      },
      errorSent() {
        scalars.errorsSent++;
      },
      idTaken() {
        scalars.idTakenSent++;
      },
      refused: (reason) => refused.bump(reason),
    },
  };
}
