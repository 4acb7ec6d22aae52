// --metrics behind a dynamic import, so a server without it never loads prom-client (tsup puts it in a lazy chunk).
import type { SignalingObserver } from '../signaling/observer.js';
import { createSignalingCounts } from './counts.js';
import type { MetricSources, Scrape } from './metrics.js';

export interface ServerMetrics {
  /** Counts what happens to peers and messages; give it to the transport. */
  readonly observer: SignalingObserver;
  /** Loads prom-client and starts the process metrics (event-loop delay from here on); listen() calls it. */
  start(): Promise<void>;
  /** The exposition text for GET /metrics. */
  scrape(): Promise<Scrape>;
}

/**
 * The metrics of one server. Counting needs no prom-client (a number per event); the registry that
 * turns the counts into Prometheus text is loaded by start(), or by the first scrape.
 */
export function createLazyMetrics(sources: Omit<MetricSources, 'counts'>): ServerMetrics {
  const counts = createSignalingCounts();
  let loading: Promise<() => Promise<Scrape>> | undefined;
  // Keep this a dynamic import: a static one would put prom-client in the main chunk.
  const load = (): Promise<() => Promise<Scrape>> =>
    (loading ??= import('./metrics.js').then(({ createMetricsRegistry }) => createMetricsRegistry({ ...sources, counts })));
  return {
    observer: counts.observer,
    async start() {
      await load();
    },
    async scrape() {
      return (await load())();
    },
  };
}
