// Scenario "connect": 2,000 PeerJS sessions, 50 in flight, from connect to the server's OPEN frame.
import { setTimeout as sleep } from 'node:timers/promises';
import { split } from '../lib/loadgen.mjs';
import { startCpuWindow } from '../lib/procfs.mjs';
import { startServer } from '../lib/processes.mjs';
import { createHistogram, histMerge, histQuantile } from '../lib/stats.mjs';

export default {
  name: 'connect',
  title: 'connect: 2,000 sessions, 50 in flight, until OPEN',
  budgetMs: (opts) => opts.reps * opts.servers.length * 60_000,
  async run(ctx) {
    const sessions = ctx.opts.connectSessions;
    const inFlight = ctx.opts.connectConcurrency;
    const workers = Math.min(2, ctx.loadgen.size);
    const perWorker = split(sessions, workers);
    const lanes = split(inFlight, workers);
    ctx.note(
      'connect',
      `${sessions} sessions with ${inFlight} in flight over ${workers} load workers; latency is connect() → the OPEN frame; a 200-session warm-up (not measured) runs first. ` +
        'Sessions are opened over bare TCP sockets (bench/loadgen/raw-session.mjs: the upgrade request written by hand, only the 101 status line and the first frame read) ' +
        "because ws's client costs about as much CPU per handshake as a server, and its load generator saturated its core before either server did.",
    );
    for (let rep = 1; rep <= ctx.opts.reps; rep++) {
      for (const kind of ctx.order(rep)) {
        ctx.progress(`connect rep ${rep}/${ctx.opts.reps}: ${kind}`);
        const server = await startServer(kind);
        try {
          await ctx.loadgen.on(workers, 'connect', (i) => ({
            wsBase: server.wsBase,
            count: split(200, workers)[i],
            concurrency: lanes[i],
            idPrefix: `warm${rep}w${i}n`,
            timeoutMs: 30_000,
            client: 'raw',
          }));
          await ctx.loadgen.closeAll();
          await sleep(300);
          const serverCpu = startCpuWindow([server.pid]);
          const loadCpu = startCpuWindow(ctx.loadgen.pids);
          const results = await ctx.loadgen.on(
            workers,
            'connect',
            (i) => ({ wsBase: server.wsBase, count: perWorker[i], concurrency: lanes[i], idPrefix: `c${rep}w${i}n`, timeoutMs: 60_000, client: 'raw' }),
            90_000,
          );
          const cpu = serverCpu.stop();
          const load = loadCpu.stop();
          const ok = results.reduce((sum, r) => sum + r.ok, 0);
          const failed = results.reduce((sum, r) => sum + r.failed, 0);
          const elapsedSec = Math.max(...results.map((r) => r.elapsedMs)) / 1000;
          const hist = createHistogram();
          for (const r of results) histMerge(hist, r.hist);
          const errors = Object.assign({}, ...results.map((r) => r.errors));
          const extra = { ok, failed, errors, elapsedSec };
          ctx.measure('connect.rate', kind, rep, ok / elapsedSec, extra);
          ctx.measure('connect.p50', kind, rep, histQuantile(hist, 0.5) / 1000);
          ctx.measure('connect.p99', kind, rep, histQuantile(hist, 0.99) / 1000);
          // CPU time per session: meaningful even when the load generator, not the server, set the pace.
          ctx.measure('connect.cpuPerSession', kind, rep, ok > 0 ? (cpu.cpuSec * 1e6) / ok : NaN);
          ctx.usage('connect', kind, rep, cpu, load);
          if (failed > 0) ctx.warn(`connect rep ${rep} ${kind}: ${failed} of ${sessions} sessions failed: ${JSON.stringify(errors)}`);
        } finally {
          await ctx.loadgen.closeAll();
          await server.stop();
        }
      }
    }
  },
};
