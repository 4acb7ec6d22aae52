// The Prometheus registry of one server (prom-client): signaling counts, gauges read at scrape time, process metrics.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ClusterStatus } from '../cluster/backend.js';
import type { LabelCounts, SignalingCounts } from './counts.js';

/** What the metrics read, at scrape time only. */
export interface MetricSources {
  readonly counts: SignalingCounts;
  readonly version: string;
  peerCount(): number;
  socketCount(): number;
  queued(): { messages: number; bytes: number };
  framesHandled(): number;
  /** Cluster state; absent on a single instance, which then has no cluster metrics. */
  readonly clusterStatus?: () => ClusterStatus | undefined;
}

/** A response to GET /metrics. */
export interface Scrape {
  contentType: string;
  body: string;
}

let processRegistry: Registry | undefined;

/**
 * CPU, memory, handles, GC and event-loop delay, once per process and shared by its servers:
 * prom-client cannot stop collecting them (an event-loop delay histogram and a GC observer stay on),
 * so a registry per server would leave one set running for every server ever created.
 */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The server's own registry (never prom-client's global one) merged with the process metrics; returns the scrape. */
export function createMetricsRegistry(sources: MetricSources): () => Promise<Scrape> {
  const own = new Registry();
  const registers = [own];
  const { counts } = sources;

  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };
  // prom-client counters cannot be set, so each scrape starts from zero and adds the running total.
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };
  const labelledCounter = (name: string, help: string, labelName: string, series: LabelCounts): void => {
    new Counter({
      name,
      help,
      labelNames: [labelName],
      registers,
      collect() {
        this.reset();
        series.labels.forEach((label, i) => this.inc({ [labelName]: label }, series.counts[i] ?? 0));
      },
    });
  };

  new Gauge({
    name: 'peer_signal_build_info',
    help: 'Always 1; the version label says which peer-signal runs.',
    labelNames: ['version'],
    registers,
  }).set({ version: sources.version }, 1);
  gauge('peer_signal_peers_connected', 'Peers registered on this instance.', () => sources.peerCount());
  gauge('peer_signal_sockets_open', 'Open WebSocket connections, registered or not.', () => sources.socketCount());
  gauge('peer_signal_queue_messages', 'Messages waiting in queues for absent peers.', () => sources.queued().messages);
  gauge('peer_signal_queue_bytes', 'Bytes waiting in queues for absent peers, as the queue caps count them.', () => sources.queued().bytes);

  counter('peer_signal_frames_received_total', 'Signaling frames received from peers, heartbeats excepted.', () => sources.framesHandled());
  labelledCounter(
    'peer_signal_relayed_messages_total',
    'Messages taken for delivery (here, to another instance or into a queue), by type.',
    'type',
    counts.relayed,
  );
  counter('peer_signal_messages_queued_total', 'Messages that waited in a queue for an absent peer.', () => counts.scalars.queued);
  counter('peer_signal_expires_sent_total', 'EXPIRE notices sent: a destination was unavailable.', () => counts.scalars.expiresSent);
  counter('peer_signal_errors_sent_total', 'ERROR frames sent to clients.', () => counts.scalars.errorsSent);
  counter('peer_signal_id_taken_sent_total', 'ID-TAKEN frames sent: the id was held with another token.', () => counts.scalars.idTakenSent);
  labelledCounter('peer_signal_refusals_total', 'Connections or messages refused, by reason.', 'reason', counts.refused);
  counter('peer_signal_peers_opened_total', 'Peers registered (OPEN sent), reconnects included.', () => counts.scalars.opened);
  counter('peer_signal_peer_reconnects_total', 'Peers that came back with the same id and token.', () => counts.scalars.reconnected);
  labelledCounter(
    'peer_signal_peer_closes_total',
    'Registered peers that left, by WebSocket close code (unlisted codes as "other").',
    'code',
    counts.closed,
  );

  const { clusterStatus } = sources;
  if (clusterStatus !== undefined) {
    gauge('peer_signal_cluster_up', '1 while this instance is in the cluster, 0 while Redis is unreachable.', () =>
      clusterStatus()?.state === 'ok' ? 1 : 0,
    );
    gauge('peer_signal_cluster_instances', 'Live instances in the cluster, this one included.', () => clusterStatus()?.instances ?? 1);
    gauge('peer_signal_cluster_peers', 'Peers anywhere in the cluster, as this instance knows.', () => clusterStatus()?.peers ?? 0);
  }

  const registry = Registry.merge([processMetrics(), own]);
  return async () => ({ contentType: registry.contentType, body: await registry.metrics() });
}
