// Scenario "cluster": peer-signal only, two instances sharing a throwaway Redis; pairs on one instance vs split across both.
import { setTimeout as sleep } from 'node:timers/promises';
import { hasCommand, startPeerSignal, startRedis } from '../lib/processes.mjs';
import { bounce, setUpPairs } from '../lib/relay-run.mjs';

export default {
  name: 'cluster',
  title: 'cluster: relay between pairs on the same instance vs across two instances (Redis)',
  budgetMs: (opts) => opts.reps * (2 * opts.clusterSeconds * 1000 + 120_000),
  async run(ctx) {
    if (!hasCommand('redis-server')) {
      ctx.note('cluster', 'skipped: redis-server not found (apt-get install redis-server).');
      ctx.warn('cluster scenario skipped: redis-server not found');
      return;
    }
    const workers = Math.min(2, ctx.loadgen.size);
    const { relayPairs: pairs, relayInflight: inflight, clusterSeconds: seconds, probePairs, probeSeconds, probeThinkMs } = ctx.opts;
    ctx.note(
      'cluster',
      `Two peer-signal instances with --redis (a redis-server on a free loopback port, --save '' --appendonly no), all three on the server core. ` +
        `Both variants load both instances equally: "same instance" puts both ends of half the pairs on instance 1 and of the other half on instance 2; ` +
        `"cross instance" puts every caller on one instance and its callee on the other. ${pairs} pairs × ${inflight} in flight for ${seconds} s after a 1 s warm-up, ` +
        `then the unloaded probe (${probePairs} pairs × 1). The instances run with --rate-limit 0 (as in the relay scenario); everything else at its defaults. ` +
        'Server CPU is the sum of both instances and Redis.',
    );
    for (let rep = 1; rep <= ctx.opts.reps; rep++) {
      ctx.progress(`cluster rep ${rep}/${ctx.opts.reps}`);
      const redis = await startRedis();
      const instances = [];
      try {
        const args = ['--redis', redis.url, '--rate-limit', '0'];
        instances.push(await startPeerSignal(args, { name: 'peer-signal-1' }));
        instances.push(await startPeerSignal(args, { name: 'peer-signal-2' }));
        await sleep(500);
        const pids = [...instances.map((s) => s.pid), redis.pid];
        const variants = rep % 2 === 1 ? ['same-instance', 'cross-instance'] : ['cross-instance', 'same-instance'];
        for (const variant of variants) {
          ctx.progress(`  ${variant}`);
          const bases = (i) => {
            const one = instances[i % 2].wsBase;
            const other = instances[(i + 1) % 2].wsBase;
            return variant === 'same-instance' ? { a: one, b: one } : { a: one, b: other };
          };
          try {
            await setUpPairs(ctx.loadgen, { workers, pairs, bases, idPrefix: `k${rep}${variant[0]}` });
            const loaded = await bounce(ctx.loadgen, { workers, pairs, inflight, warmupMs: 1000, durationMs: seconds * 1000, serverPids: pids });
            ctx.measure('cluster.rate', variant, rep, loaded.rate, { lost: loaded.lost, unexpected: loaded.unexpected, closedAfterOpen: loaded.closedAfterOpen });
            ctx.measure('cluster.p50', variant, rep, loaded.p50Ms);
            ctx.measure('cluster.p99', variant, rep, loaded.p99Ms);
            ctx.measure('cluster.cpuPerMsg', variant, rep, loaded.cpuUsPerMsg);
            // Redis is the last pid: its share of the server CPU, per message (the cost model in docs/cluster.md).
            ctx.measure('cluster.redisCpuPerMsg', variant, rep, (loaded.cpuUsPerMsg * loaded.cpu.perPidPct.at(-1)) / loaded.cpu.pct);
            ctx.usage(`cluster ${variant}`, 'peer-signal ×2 + redis', rep, loaded.cpu, loaded.load);
            if (loaded.unexpected > 0 || loaded.closedAfterOpen > 0) {
              ctx.warn(`cluster rep ${rep} ${variant}: ${loaded.unexpected} unexpected frames, ${loaded.closedAfterOpen} closed: ${JSON.stringify(loaded.unexpectedSamples)}`);
            }
            const probe = await bounce(ctx.loadgen, {
              workers,
              pairs: probePairs,
              inflight: 1,
              warmupMs: 500,
              durationMs: probeSeconds * 1000,
              think: probeThinkMs,
              serverPids: pids,
            });
            ctx.measure('cluster.probeP50', variant, rep, probe.p50Ms);
            ctx.measure('cluster.probeP99', variant, rep, probe.p99Ms);
          } finally {
            await ctx.loadgen.closeAll();
          }
          for (const instance of instances) {
            if (!instance.alive()) throw new Error(`${instance.name} exited: ${instance.stderrTail().slice(-500)}`);
          }
        }
      } finally {
        await Promise.all(instances.map((s) => s.stop()));
        await redis.stop();
      }
    }
  },
};
