// A real Prometheus scrapes a server with --metrics every second: a relayed OFFER shows in its query API; promtool finds our names clean.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import { closeAll, connectPeer, type TestClient } from '../support/peer-client.js';
import { requires } from '../support/prerequisites.js';
import { lintMetrics, prometheusProblem, startPrometheus, type Prometheus } from '../support/prometheus.js';

const ADMIN_TOKEN = 'prometheus-scrape-token-0123456789';
/** A scrape a second: a new value is in Prometheus within a few seconds, even on a busy 2-core machine. */
const SCRAPED_MS = 30_000;
const OFFERS = 'peer_signal_relayed_messages_total{type="OFFER"}';

requires('the Prometheus tests', prometheusProblem()).describe('metrics scraped by a real Prometheus', () => {
  let server: SignalServer | undefined;
  let prometheus: Prometheus | undefined;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    // Behind the admin token, so the scrape also proves Prometheus's bearer authorization gets through.
    server = createSignalServer({ host: '127.0.0.1', port: 0, metrics: true, adminToken: ADMIN_TOKEN });
    await server.listen();
    const address = `127.0.0.1:${server.address()!.port}`;
    prometheus = await startPrometheus({ address, metricsPath: '/peerjs/metrics', bearer: ADMIN_TOKEN });
  }, 60_000);

  afterAll(async () => {
    await closeAll(clients.splice(0));
    await prometheus?.stop();
    await server?.close();
  });

  /** The latest scraped value of an instant query with one series, or undefined before the first scrape. */
  const latest = async (promql: string): Promise<number | undefined> => (await prometheus!.query(promql))[0]?.value;

  it('sees a relayed OFFER move the counter', { timeout: 2 * SCRAPED_MS + 10_000 }, async () => {
    // Wait for a scrape of the untouched counter first, so the test sees it move rather than merely appear.
    await expect.poll(() => latest(OFFERS), { timeout: SCRAPED_MS, interval: 250 }).toBe(0);
    expect(await latest('up{job="peer-signal"}')).toBe(1);

    const alice = await connectPeer(server!, 'alice');
    const bob = await connectPeer(server!, 'bob');
    clients.push(alice, bob);
    alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'v=0' } });
    expect(await bob.next()).toMatchObject({ type: 'OFFER', src: 'alice' });

    await expect.poll(() => latest(OFFERS), { timeout: SCRAPED_MS, interval: 250 }).toBe(1);
    // Read at scrape time in the same scrape, or a later one: both peers are still connected.
    expect(await latest('peer_signal_peers_connected')).toBe(2);
    expect(await latest('peer_signal_peers_opened_total')).toBe(2);
    expect(await latest('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('exposes names and help texts that promtool finds clean', async () => {
    const response = await fetch(`http://127.0.0.1:${server!.address()!.port}/metrics`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('peer_signal_relayed_messages_total');
    // A control: promtool does complain about a gauge named like a counter.
    expect(lintMetrics('# HELP bad_total Help.\n# TYPE bad_total gauge\nbad_total 1\n')).not.toEqual([]);
    // prom-client's own process metrics have complaints of their own (nodejs_active_handles_total is a gauge); ours must have none.
    expect(lintMetrics(text).filter((line) => line.includes('peer_signal_'))).toEqual([]);
  });
});
