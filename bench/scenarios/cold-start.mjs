// Scenario "cold start": spawn of the CLI to the first successful health answer (ours GET /health, the reference GET /).
import { freePort, startPeerSignal, startReference, waitHttpOk } from '../lib/processes.mjs';
import { median } from '../lib/stats.mjs';

async function coldStartMs(kind) {
  if (kind === 'peer-signal') {
    const t0 = performance.now();
    const server = await startPeerSignal();
    try {
      await waitHttpOk(server.healthUrl, { timeoutMs: 10_000, intervalMs: 1, child: server.child });
      return performance.now() - t0;
    } finally {
      await server.stop();
    }
  }
  const port = await freePort();
  const t0 = performance.now();
  const server = await startReference([], { port, pollMs: 2 });
  try {
    return performance.now() - t0;
  } finally {
    await server.stop();
  }
}

export default {
  name: 'cold-start',
  title: 'cold start: spawn → first 200 from the health route, median of 10',
  budgetMs: (opts) => opts.reps * 2 * opts.coldStarts * 15_000,
  async run(ctx) {
    const n = ctx.opts.coldStarts;
    ctx.note(
      'cold-start',
      `Each repetition spawns each CLI ${n} times, alternating, and takes the median. peer-signal: spawn → its {"event":"listening"} line → GET /health 200. ` +
        'Reference: spawn → GET / answers 200, polled every 2 ms on a port picked beforehand (it prints no port).',
    );
    for (let rep = 1; rep <= ctx.opts.reps; rep++) {
      ctx.progress(`cold start rep ${rep}/${ctx.opts.reps}: ${n} × each`);
      const times = { 'peer-signal': [], reference: [] };
      for (let i = 0; i < n; i++) {
        for (const kind of ctx.order(rep)) times[kind].push(await coldStartMs(kind));
      }
      for (const kind of ctx.order(rep)) ctx.measure('cold.ms', kind, rep, median(times[kind]), { samples: times[kind].map((t) => Math.round(t)) });
    }
  },
};
