// Scenario "idle": ~10,000 then ~20,000 connected peers sending HEARTBEAT every 5 s; server RSS per peer and idle CPU.
import { setTimeout as sleep } from 'node:timers/promises';
import { split } from '../lib/loadgen.mjs';
import { readRssBytes, startCpuWindow } from '../lib/procfs.mjs';
import { startServer } from '../lib/processes.mjs';

export default {
  name: 'idle',
  title: 'idle: 10,000 and ~20,000 peers with HEARTBEAT every 5 s',
  budgetMs: (opts) => opts.reps * opts.servers.length * ((opts.idleQuietSeconds + opts.idleCpuSeconds) * 1000 + 120_000),
  async run(ctx) {
    const counts = ctx.opts.idlePeers;
    const top = counts[counts.length - 1];
    const workers = ctx.loadgen.size;
    const limit = String(top + 100);
    // Both servers default to 5,000 concurrent peers; raise it for both, the same way. The bare relay has no limit.
    const args = { 'peer-signal': ['--concurrent-limit', limit], before: ['--concurrent-limit', limit], reference: ['--concurrent_limit', limit], bare: [] };
    ctx.note(
      'idle',
      `Peers: ${counts.join(' then ')} (the file-descriptor limit is ${ctx.opts.fdLimit} per process and the server needs one per peer), spread over ${workers} load workers, ` +
        `connected ${ctx.opts.idleConcurrency} at a time, each sending {"type":"HEARTBEAT"} every 5 s (staggered). ` +
        `peer-signal and the reference run with the concurrent-peer limit raised to ${limit} (--concurrent-limit / --concurrent_limit; both default to 5,000; the bare relay has none); nothing else changed. ` +
        `Bytes per peer = (VmRSS after connecting and ${ctx.opts.idleSettleSeconds} s of settling − VmRSS before the first peer) / peers. ` +
        `Idle CPU = utime+stime from /proc/PID/stat over ${ctx.opts.idleCpuSeconds} s at ${top} peers, as % of one core, starting ${ctx.opts.idleQuietSeconds} s after the RSS reading: ` +
        'a few seconds after allocation stops, V8 runs full garbage collections to shrink the heap the connection burst grew (in both servers), and that belongs to connecting, not to being idle. ' +
        `"After ${ctx.opts.idleQuietSeconds + ctx.opts.idleCpuSeconds} s idle" is the RSS growth per peer again at the end of that window (no target; the targets use the reading taken right after connecting).`,
    );
    for (let rep = 1; rep <= ctx.opts.reps; rep++) {
      for (const kind of ctx.order(rep)) {
        ctx.progress(`idle rep ${rep}/${ctx.opts.reps}: ${kind}`);
        const server = await startServer(kind, args[kind]);
        try {
          await sleep(1000);
          const before = readRssBytes(server.pid);
          ctx.measure('idle.baseRss', kind, rep, before / 2 ** 20);
          let connected = 0;
          let stage = 0;
          for (const count of counts) {
            const add = count - connected;
            const perWorker = split(add, workers);
            const lanes = split(ctx.opts.idleConcurrency, workers);
            const started = performance.now();
            const results = await ctx.loadgen.on(
              workers,
              'connect',
              (i) => ({ wsBase: server.wsBase, count: perWorker[i], concurrency: lanes[i], idPrefix: `i${rep}s${stage}w${i}n`, timeoutMs: 90_000, heartbeatMs: 5000 }),
              120_000,
            );
            const ok = results.reduce((sum, r) => sum + r.ok, 0);
            const errors = Object.assign({}, ...results.map((r) => r.errors));
            connected += ok;
            ctx.progress(`  ${kind}: ${connected} peers connected (${Math.round(ok / ((performance.now() - started) / 1000))}/s)`);
            if (ok < add) ctx.warn(`idle rep ${rep} ${kind}: only ${ok} of ${add} peers connected: ${JSON.stringify(errors)}`);
            await sleep(ctx.opts.idleSettleSeconds * 1000);
            const stats = await ctx.loadgen.on(workers, 'stats', () => ({}));
            const open = stats.reduce((sum, s) => sum + s.open, 0);
            const rss = readRssBytes(server.pid);
            const key = count === top ? 'idle.bytesPerPeerTop' : 'idle.bytesPerPeerLow';
            ctx.measure(key, kind, rep, (rss - before) / open, { peers: open, rssMiB: rss / 2 ** 20, baseMiB: before / 2 ** 20 });
            stage++;
          }
          await sleep(ctx.opts.idleQuietSeconds * 1000);
          const serverCpu = startCpuWindow([server.pid]);
          const loadCpu = startCpuWindow(ctx.loadgen.pids);
          await sleep(ctx.opts.idleCpuSeconds * 1000);
          const cpu = serverCpu.stop();
          const load = loadCpu.stop();
          const stats = await ctx.loadgen.on(workers, 'stats', () => ({}));
          const open = stats.reduce((sum, s) => sum + s.open, 0);
          const dropped = stats.reduce((sum, s) => sum + s.closedAfterOpen, 0);
          const settledRss = readRssBytes(server.pid);
          ctx.measure('idle.cpuTop', kind, rep, cpu.pct, { peers: open, dropped, rssMiB: settledRss / 2 ** 20 });
          // The same peers once the servers have been idle a while: what a long-running server holds.
          ctx.measure('idle.bytesPerPeerSettled', kind, rep, (settledRss - before) / open, { peers: open, rssMiB: settledRss / 2 ** 20 });
          ctx.usage('idle', kind, rep, cpu, load);
          if (dropped > 0) ctx.warn(`idle rep ${rep} ${kind}: the server closed ${dropped} idle peers`);
          if (!server.alive()) throw new Error(`${kind} exited during the idle run: ${server.stderrTail().slice(-500)}`);
        } finally {
          await ctx.loadgen.closeAll(60_000);
          await server.stop();
        }
      }
    }
  },
};
