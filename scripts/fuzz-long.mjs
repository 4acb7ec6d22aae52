#!/usr/bin/env node
// Runs the fuzz suite (test/fuzz) for longer: every property gets PEER_SIGNAL_FUZZ_SCALE times its usual runs (default 20).
//
//   node scripts/fuzz-long.mjs [--scale 20] [--seed N] [extra vitest arguments, e.g. -t "upgrade"]
//
// A failing property prints its seed and shrunk counterexample; replay it with --seed N (PEER_SIGNAL_FUZZ_SEED).
// Per-test timeouts grow with the scale, so the run stays bounded: about 20 x 20 s at the default scale.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// --scale and --seed are ours; everything else goes to vitest unchanged.
const values = {};
const passThrough = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const match = /^--(scale|seed)(?:=(.*))?$/.exec(args[i]);
  if (match === null) {
    if (args[i] !== '--') passThrough.push(args[i]);
  } else {
    values[match[1]] = match[2] ?? args[++i];
  }
}
const scale = String(values.scale ?? process.env.PEER_SIGNAL_FUZZ_SCALE ?? 20);
if (!/^\d+$/.test(scale) || Number(scale) < 1) {
  console.error(`error: --scale must be a positive whole number, got "${scale}"`);
  process.exit(2);
}
const seed = values.seed ?? process.env.PEER_SIGNAL_FUZZ_SEED;
if (seed !== undefined && !/^-?\d+$/.test(String(seed))) {
  console.error(`error: --seed must be an integer, got "${seed}"`);
  process.exit(2);
}

const require = createRequire(import.meta.url);
const vitest = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const root = fileURLToPath(new URL('../', import.meta.url));
const env = { ...process.env, PEER_SIGNAL_FUZZ_SCALE: scale };
if (seed !== undefined) env.PEER_SIGNAL_FUZZ_SEED = String(seed);

console.error(`fuzz-long: test/fuzz at ${scale}x the usual runs${seed === undefined ? '' : `, seed ${seed}`}`);
const child = spawn(process.execPath, [vitest, 'run', 'test/fuzz', ...passThrough], {
  cwd: root,
  env,
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal === 'SIGINT' ? 130 : 143);
});
