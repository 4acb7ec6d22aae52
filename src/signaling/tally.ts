// Counts what the observer hears, for `peer-signal run`'s summary: peers seen, relays by type, EXPIREs, ID-TAKENs, ERRORs, refusals.
import type { RefusalReason, SignalingObserver } from './observer.js';

export interface TallyCounts {
  /** Distinct peer ids that opened. */
  peers: number;
  /** Messages taken for delivery, by type. */
  relayed: Record<string, number>;
  expires: number;
  idTaken: number;
  errors: number;
  refused: Partial<Record<RefusalReason, number>>;
  faults: { dropped: number; delayed: number };
}

export interface Tally {
  readonly observer: SignalingObserver;
  counts(): TallyCounts;
}

const noop = (): void => {};

export function createTally(): Tally {
  const peers = new Set<string>();
  const relayed: Record<string, number> = {};
  const refused: Partial<Record<RefusalReason, number>> = {};
  const counts = { expires: 0, idTaken: 0, errors: 0, dropped: 0, delayed: 0 };
  return {
    observer: {
      peerOpened: (id) => void peers.add(id),
      peerClosed: noop,
      // Only the types peers relay, so a client cannot grow this with made-up names.
      relayed: (type) => void (relayed[type] = (relayed[type] ?? 0) + 1),
      delivered: noop,
      queued: noop,
      left: noop,
      expireSent: () => void counts.expires++,
      errorSent: () => void counts.errors++,
      idTaken: () => void counts.idTaken++,
      refused: (reason) => void (refused[reason] = (refused[reason] ?? 0) + 1),
      faulted: (_type, _src, _dst, delayMs) => void (delayMs === undefined ? counts.dropped++ : counts.delayed++),
    },
    counts: () => ({
      peers: peers.size,
      relayed: { ...relayed },
      expires: counts.expires,
      idTaken: counts.idTaken,
      errors: counts.errors,
      refused: { ...refused },
      faults: { dropped: counts.dropped, delayed: counts.delayed },
    }),
  };
}
