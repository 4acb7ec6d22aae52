// Drives a relay measurement on the load workers: set up pairs, bounce frames, and sum rate, latency and CPU.
import { setTimeout as sleep } from 'node:timers/promises';
import { split } from './loadgen.mjs';
import { startCpuWindow } from './procfs.mjs';
import { createHistogram, histMerge, histQuantile } from './stats.mjs';

/**
 * Connects `pairs` pairs spread over `workers` load workers; worker i's callers go to
 * `bases(i).a` and its callees to `bases(i).b` (the same server, or two cluster instances).
 * Sessions are bare TCP sockets that write and parse frames themselves (raw-session.mjs): with the
 * ws client, the load core saturated before the servers did.
 */
export async function setUpPairs(loadgen, { workers, pairs, bases, idPrefix }) {
  const counts = split(pairs, workers);
  const results = await loadgen.on(
    workers,
    'pairs',
    (i) => ({ wsBaseA: bases(i).a, wsBaseB: bases(i).b, count: counts[i], idPrefix: `${idPrefix}w${i}`, concurrency: 25, timeoutMs: 30_000, client: 'raw' }),
    60_000,
  );
  const ready = results.reduce((sum, r) => sum + r.pairs, 0);
  if (ready < pairs) {
    const errors = Object.assign({}, ...results.map((r) => r.errors));
    throw new Error(`only ${ready} of ${pairs} pairs connected: ${JSON.stringify(errors)}`);
  }
  return ready;
}

/**
 * Runs the bounce on `pairs` pairs (the first ones of each worker) with `inflight` frames each.
 * CPU windows cover only the measuring part (after the warm-up).
 */
export async function bounce(loadgen, { workers, pairs, inflight, warmupMs, durationMs, think = 0, serverPids }) {
  const limits = split(pairs, workers);
  let serverCpu;
  let loadCpu;
  const marks = sleep(warmupMs).then(() => {
    serverCpu = startCpuWindow(serverPids);
    loadCpu = startCpuWindow(loadgen.pids);
  });
  const results = await loadgen.on(
    workers,
    'relay',
    (i) => ({ pairLimit: limits[i], inflight, warmupMs, durationMs, think }),
    warmupMs + durationMs + 30_000,
  );
  await marks;
  const cpu = serverCpu.stop();
  const load = loadCpu.stop();
  const hist = createHistogram();
  for (const r of results) histMerge(hist, r.hist);
  const received = results.reduce((sum, r) => sum + r.received, 0);
  const elapsedSec = Math.max(...results.map((r) => r.elapsedMs)) / 1000;
  const rate = received / elapsedSec;
  return {
    rate,
    received,
    p50Ms: histQuantile(hist, 0.5) / 1000,
    p99Ms: histQuantile(hist, 0.99) / 1000,
    cpu,
    load,
    // Server CPU time per relayed message: holds up even when the machine is busy with other work.
    cpuUsPerMsg: received > 0 ? (cpu.cpuSec * 1e6 * (elapsedSec / cpu.wallSec)) / received : NaN,
    lost: results.reduce((sum, r) => sum + r.lost, 0),
    unexpected: results.reduce((sum, r) => sum + r.unexpected, 0),
    closedAfterOpen: results.reduce((sum, r) => sum + r.closedAfterOpen, 0),
    unexpectedSamples: Object.assign({}, ...results.map((r) => r.unexpectedSamples)),
  };
}
