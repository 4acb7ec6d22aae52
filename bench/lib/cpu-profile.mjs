// Optional (--cpu-prof): runs peer-signal under `node --cpu-prof` during relay load and lists the functions with the most self time.
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT, startPeerSignal } from './processes.mjs';
import { bounce, setUpPairs } from './relay-run.mjs';
import { RELAY_ARGS } from '../scenarios/relay.mjs';

/** Self time per function (name + location), as a share of the non-idle samples. */
export function topFunctions(profile, count = 15) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') return;
    // The servers run from a copy of the build (see snapshotBuild): show bundle paths as dist/...
    const file = frame.url ? path.relative(ROOT, frame.url.replace(/^file:\/\//, '')).replace(/^.*\/peer-signal-bench-[^/]+\//, '') : '';
    const key = `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, pct: (100 * us) / total, ms: us / 1000 }));
}

export async function profileRelay(ctx, seconds = 8) {
  const dir = path.join(ROOT, 'bench/results', `cpu-prof-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const workers = Math.min(2, ctx.loadgen.size);
  ctx.progress(`cpu profile: peer-signal under relay load for ${seconds} s`);
  const server = await startPeerSignal(RELAY_ARGS['peer-signal'], { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  try {
    await setUpPairs(ctx.loadgen, { workers, pairs: ctx.opts.relayPairs, bases: () => ({ a: server.wsBase, b: server.wsBase }), idPrefix: 'prof' });
    await bounce(ctx.loadgen, { workers, pairs: ctx.opts.relayPairs, inflight: ctx.opts.relayInflight, warmupMs: 1000, durationMs: seconds * 1000, serverPids: [server.pid] });
  } finally {
    await ctx.loadgen.closeAll();
    // SIGTERM lets peer-signal shut down normally, which is when Node writes the profile.
    await server.stop(8000);
  }
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written to ${dir}`);
  const top = topFunctions(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
  return { file: path.relative(ROOT, path.join(dir, file)), top };
}
