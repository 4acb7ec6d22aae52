// Scenario "cold start": spawn of the CLI to the first successful health answer (ours and the bare relay GET /health, the reference GET /).
import { freePort, startReference, startServer, waitHttpOk } from '../lib/processes.mjs';
import { median } from '../lib/stats.mjs';

async function coldStartMs(kind) {
  // The reference prints no port: it gets one picked beforehand, and startReference polls GET / itself.
  const port = kind === 'reference' ? await freePort() : undefined;
  const t0 = performance.now();
  const server = kind === 'reference' ? await startReference([], { port, pollMs: 2 }) : await startServer(kind);
  try {
    if (kind !== 'reference') await waitHttpOk(server.healthUrl, { timeoutMs: 10_000, intervalMs: 1, child: server.child });
    return performance.now() - t0;
  } finally {
    await server.stop();
  }
}

export default {
  name: 'cold-start',
  title: 'cold start: spawn → first 200 from the health route, median of 10',
  budgetMs: (opts) => opts.reps * opts.servers.length * opts.coldStarts * 15_000,
  async run(ctx) {
    const n = ctx.opts.coldStarts;
    ctx.note(
      'cold-start',
      `Each repetition spawns each server ${n} times, alternating, and takes the median. peer-signal and the bare relay: spawn → its {"event":"listening"} line → GET /health 200. ` +
        'Reference: spawn → GET / answers 200, polled every 2 ms on a port picked beforehand (it prints no port).',
    );
    for (let rep = 1; rep <= ctx.opts.reps; rep++) {
      ctx.progress(`cold start rep ${rep}/${ctx.opts.reps}: ${n} × each`);
      const times = Object.fromEntries(ctx.order(rep).map((kind) => [kind, []]));
      for (let i = 0; i < n; i++) {
        for (const kind of ctx.order(rep)) times[kind].push(await coldStartMs(kind));
      }
      for (const kind of ctx.order(rep)) ctx.measure('cold.ms', kind, rep, median(times[kind]), { samples: times[kind].map((t) => Math.round(t)) });
    }
  },
};
