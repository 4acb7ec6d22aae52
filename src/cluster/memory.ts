// The default backend: a single instance, so every claim succeeds (the realm checks local ids) and nothing is remote.
import type { ClaimResult, ClusterBackend } from './backend.js';

const CLAIMED: ClaimResult = { outcome: 'claimed' };

export function createMemoryBackend(): ClusterBackend {
  return {
    start: () => Promise.resolve(),
    claim: () => CLAIMED,
    release: () => {},
    forward: () => false,
    listIds: () => Promise.resolve({ ids: [], next: undefined }),
    status: () => undefined,
    close: () => Promise.resolve(),
  };
}
