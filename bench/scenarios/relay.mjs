// Scenario "relay": 200 pairs bouncing PeerJS-shaped OFFER/ANSWER/CANDIDATE frames, 4 in flight each, plus an unloaded probe.
import { frameSizes } from '../lib/messages.mjs';
import { startServer } from '../lib/processes.mjs';
import { bounce, setUpPairs } from '../lib/relay-run.mjs';

/** peer-signal's default per-socket rate limit (50 msgs/s, burst 200) would throttle a pair bouncing 4 frames. */
export const RELAY_ARGS = { 'peer-signal': ['--rate-limit', '0'], before: ['--rate-limit', '0'], reference: [], bare: [] };

/** Warm-up of the unloaded probe, which runs first on a fresh server. */
const PROBE_WARMUP_MS = 3000;

export default {
  name: 'relay',
  title: 'relay: 200 pairs × 4 in flight, 10 s; unloaded probe: 10 pairs × 1 in flight',
  budgetMs: (opts) => opts.reps * opts.servers.length * (opts.relaySeconds * 1000 + 60_000),
  async run(ctx) {
    const { relayPairs: pairs, relayInflight: inflight, relaySeconds, probePairs, probeSeconds, probeThinkMs } = ctx.opts;
    const workers = Math.min(2, ctx.loadgen.size);
    const sizes = frameSizes();
    ctx.note(
      'relay',
      `${pairs} pairs, ${inflight} frames in flight per pair, ${relaySeconds} s after a ${ctx.opts.relayWarmupSeconds} s warm-up, over ${workers} load workers. ` +
        `Each side sends a cycle of 1 SDP frame (OFFER ${sizes.offer} B / ANSWER ${sizes.answer} B) and 3 CANDIDATE frames (${sizes.candidate} B), mean ${sizes.mean} B; ` +
        'every arrival is answered at once, so the count in flight stays constant. Latency is one-way, send → arrival, from a timestamp inside the payload (both ends in one process, one clock).',
    );
    ctx.note(
      'relay',
      `Unloaded probe: ${probePairs} pairs, 1 frame in flight each, answered after ~${probeThinkMs} ms (0.5–1.5×) so the server is mostly idle, ${probeSeconds} s after a ${PROBE_WARMUP_MS / 1000} s warm-up at the same pace (long enough for both servers' hot paths to be compiled), ` +
        'run before the loaded measurement (on the same pairs), so that it does not meet the garbage collections that follow a load phase.',
    );
    ctx.note(
      'relay',
      'peer-signal runs this scenario with --rate-limit 0: its default per-socket limit (50 msgs/s, burst 200) would throttle (and close) these sockets. Every other limit stays at its default; the reference server and the bare relay have no rate limit.',
    );
    for (let rep = 1; rep <= ctx.opts.reps; rep++) {
      for (const kind of ctx.order(rep)) {
        ctx.progress(`relay rep ${rep}/${ctx.opts.reps}: ${kind}`);
        const server = await startServer(kind, RELAY_ARGS[kind]);
        try {
          await setUpPairs(ctx.loadgen, { workers, pairs, bases: () => ({ a: server.wsBase, b: server.wsBase }), idPrefix: `r${rep}` });
          // The probe first: after the loaded run a server is still collecting that run's garbage, which is not "unloaded".
          const probe = await bounce(ctx.loadgen, {
            workers,
            pairs: probePairs,
            inflight: 1,
            warmupMs: PROBE_WARMUP_MS,
            durationMs: probeSeconds * 1000,
            think: probeThinkMs,
            serverPids: [server.pid],
          });
          ctx.measure('probe.p50', kind, rep, probe.p50Ms, { received: probe.received });
          ctx.measure('probe.p99', kind, rep, probe.p99Ms);
          ctx.usage('relay probe', kind, rep, probe.cpu, probe.load);
          const loaded = await bounce(ctx.loadgen, {
            workers,
            pairs,
            inflight,
            warmupMs: ctx.opts.relayWarmupSeconds * 1000,
            durationMs: relaySeconds * 1000,
            serverPids: [server.pid],
          });
          const extra = { lost: loaded.lost, unexpected: loaded.unexpected, closedAfterOpen: loaded.closedAfterOpen, received: loaded.received };
          ctx.measure('relay.rate', kind, rep, loaded.rate, extra);
          ctx.measure('relay.p50', kind, rep, loaded.p50Ms);
          ctx.measure('relay.p99', kind, rep, loaded.p99Ms);
          ctx.measure('relay.cpuPerMsg', kind, rep, loaded.cpuUsPerMsg);
          ctx.usage('relay', kind, rep, loaded.cpu, loaded.load);
          if (loaded.unexpected > 0 || loaded.closedAfterOpen > 0) {
            ctx.warn(`relay rep ${rep} ${kind}: ${loaded.unexpected} unexpected frames, ${loaded.closedAfterOpen} sockets closed by the server: ${JSON.stringify(loaded.unexpectedSamples)}`);
          }
          if (!server.alive()) throw new Error(`${kind} exited during the relay run: ${server.stderrTail().slice(-500)}`);
        } finally {
          await ctx.loadgen.closeAll();
          await server.stop();
        }
      }
    }
  },
};
