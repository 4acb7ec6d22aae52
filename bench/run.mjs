#!/usr/bin/env node
// `npm run bench`: every scenario against peer-signal, the official PeerJS server and a bare ws relay; table on stdout, JSON lines, docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ratioChartSvg, renderPng, writeSvg } from './lib/chart.mjs';
import { profileRelay } from './lib/cpu-profile.mjs';
import { benchmarksMarkdown } from './lib/docs.mjs';
import { startLoadgen } from './lib/loadgen.mjs';
import {
  PEER_SIGNAL_BIN,
  REFERENCE_BIN,
  ROOT,
  describePinning,
  installCleanup,
  killAllNow,
  pinSelfToLoadCore,
  pinning,
  snapshotBuild,
  useBaseline,
} from './lib/processes.mjs';
import { machineInfo } from './lib/procfs.mjs';
import { CLUSTER_ROWS, comparisons, fmt, markdownTable, summarize, tableCells, targetText, textTable, usageCells, verdictCounts } from './lib/report.mjs';
import cluster from './scenarios/cluster.mjs';
import coldStart from './scenarios/cold-start.mjs';
import connect from './scenarios/connect.mjs';
import idEndpoint from './scenarios/id-endpoint.mjs';
import idle from './scenarios/idle.mjs';
import relay from './scenarios/relay.mjs';

const SCENARIOS = [coldStart, idEndpoint, connect, relay, idle, cluster];
/** Load generator CPU (sum of its workers, % of one core) from which we warn that it may set the pace. */
const SATURATION_PCT = 85;

const HELP = `usage: node bench/run.mjs [options]

Benchmarks peer-signal (bin/peer-signal.js: run npm run build first) against the official PeerJS server
(node_modules/peer) and a bare relay on ws (bench/targets/bare-relay.mjs), all through their CLIs on
127.0.0.1, interleaved, and prints medians, min–max and the ratios peer-signal / reference (target:
ahead on every row) and peer-signal / bare (target: within 5 % or better on relay throughput, connect
rate, bytes per idle peer, idle CPU and cold start).

options:
  --quick              1 repetition and a shorter warm-up (about 2–3 minutes)
  --reps <n>           repetitions per scenario (default 3; --quick: 1)
  --only <list>        run only these scenarios (comma-separated): ${SCENARIOS.map((s) => s.name).join(', ')}
  --skip <list>        skip these scenarios
  --workers <n>        load-generator processes (default 4; the idle scenario needs peers/workers < fd limit)
  --idle-peers <list>  idle peer counts (default 10000 and the fd limit minus 100, at most 19900)
  --write-docs         rewrite docs/benchmarks.md and the chart (default for a full run)
  --no-docs            never touch docs/
  --cpu-prof           also profile peer-signal under relay load and list its hottest functions
  --baseline-bin <f>   also run an older build's bin/peer-signal.js as "peer-signal (before)", interleaved,
                       with an after / before ratio; e.g. git worktree add /tmp/before <commit> &&
                       (cd /tmp/before && npm ci && npm run build), then --baseline-bin /tmp/before/bin/peer-signal.js
  -h, --help           this text

environment: BENCH_NO_PIN=1 runs without taskset pinning.
docs/benchmarks.md takes bench/notes.md, when present, as a hand-written section after the results.

Raw results: bench/results/<timestamp>.jsonl. Exit code 1 when a scenario failed to run (not for a MISS).`;

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

function positiveInt(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`${name} must be a positive integer, got "${value}"`);
  return n;
}

function hardFdLimit() {
  try {
    const text = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
    return text === 'unlimited' ? 1_048_576 : Number(text);
  } catch {
    return 1024;
  }
}

function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        reps: { type: 'string' },
        only: { type: 'string' },
        skip: { type: 'string' },
        workers: { type: 'string' },
        'idle-peers': { type: 'string' },
        'write-docs': { type: 'boolean' },
        'no-docs': { type: 'boolean' },
        'cpu-prof': { type: 'boolean' },
        'baseline-bin': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (error) {
    fail(`${error.message}; run node bench/run.mjs --help`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP + '\n');
    process.exit(0);
  }
  const names = SCENARIOS.map((s) => s.name);
  const list = (flag, text) => {
    const items = text.split(',').map((s) => s.trim()).filter(Boolean);
    for (const item of items) if (!names.includes(item)) fail(`${flag}: unknown scenario "${item}"; known: ${names.join(', ')}`);
    return items;
  };
  const only = v.only ? list('--only', v.only) : names;
  const skip = v.skip ? list('--skip', v.skip) : [];
  const quick = Boolean(v.quick);
  const fdLimit = hardFdLimit();
  const topPeers = Math.max(100, Math.min(19_900, fdLimit - 100));
  const idlePeers = v['idle-peers']
    ? v['idle-peers'].split(',').map((s) => positiveInt('--idle-peers', s.trim()))
    : topPeers > 10_000
      ? [10_000, topPeers]
      : [Math.floor(topPeers / 2), topPeers];
  for (let i = 1; i < idlePeers.length; i++) if (idlePeers[i] <= idlePeers[i - 1]) fail('--idle-peers must be increasing');
  const workers = v.workers ? positiveInt('--workers', v.workers) : 4;
  if (idlePeers[idlePeers.length - 1] / workers > fdLimit - 200) fail(`--workers ${workers} is too few for ${idlePeers.at(-1)} idle peers with ${fdLimit} descriptors per process`);
  const full = !quick && only.length === names.length && skip.length === 0 && !v.reps;
  const baselineBin = v['baseline-bin'] ? path.resolve(v['baseline-bin']) : undefined;
  if (baselineBin && !existsSync(baselineBin)) fail(`--baseline-bin: ${baselineBin} does not exist; build the older commit first (npm ci && npm run build in its worktree)`);
  return {
    quick,
    reps: v.reps ? positiveInt('--reps', v.reps) : quick ? 1 : 3,
    scenarios: SCENARIOS.filter((s) => only.includes(s.name) && !skip.includes(s.name)),
    workers,
    writeDocs: v['no-docs'] ? false : Boolean(v['write-docs']) || full,
    cpuProf: Boolean(v['cpu-prof']),
    baselineBin,
    /** Server kinds in the order each repetition runs them. */
    servers: ['reference', 'bare', ...(baselineBin ? ['before'] : []), 'peer-signal'],
    fdLimit,
    idlePeers,
    connectSessions: 2000,
    connectConcurrency: 50,
    relayPairs: 200,
    relayInflight: 4,
    relaySeconds: 10,
    relayWarmupSeconds: quick ? 1 : 2,
    probePairs: 10,
    // About 10,000 samples: with 3 s (3,000) the p99 was set by the 30 slowest, so one scheduling hiccup
    // of this shared machine moved either server's p99 by a factor of 2 to 4 from one repetition to the next.
    probeSeconds: quick ? 3 : 10,
    probeThinkMs: 10,
    idleConcurrency: 100,
    idleSettleSeconds: 3,
    idleQuietSeconds: 10,
    idleCpuSeconds: 15,
    coldStarts: 10,
    idSeconds: 5,
    idConnections: 50,
    clusterSeconds: 5,
  };
}

function readText(file) {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function machineLoad() {
  const load = readText('/proc/loadavg').split(' ').slice(0, 3).join(' ');
  const pressure = /some avg10=([\d.]+) avg60=([\d.]+)/.exec(readText('/proc/pressure/cpu'));
  return { load, pressure: pressure ? `${pressure[1]} % / ${pressure[2]} %` : 'n/a' };
}

/** The commit of the tree at `cwd`, marked when its src/ has local changes. */
function gitCommit(cwd = ROOT) {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head} (src/ has local changes)` : head;
  } catch {
    return 'unknown';
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function preflight() {
  const cli = path.join(ROOT, 'dist/cli.js');
  if (!existsSync(PEER_SIGNAL_BIN) || !existsSync(cli)) fail('dist/cli.js is missing; run npm run build first');
  if (!existsSync(REFERENCE_BIN)) fail('node_modules/peer is missing; run npm install (peer@1.0.2 is a devDependency)');
  if (process.platform !== 'linux' || !existsSync('/proc/self/stat')) fail('the bench reads /proc and needs Linux');
  const warnings = [];
  if (existsSync(path.join(ROOT, 'src')) && newestMtime(path.join(ROOT, 'src')) > statSync(cli).mtimeMs) {
    warnings.push('src/ is newer than dist/cli.js: this measures the last build; run npm run build to measure the current source');
  }
  return warnings;
}

function withDeadline(promise, ms, name) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} passed its time bound of ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const warnings = preflight();
  installCleanup();
  pinSelfToLoadCore();
  const buildMtime = new Date(statSync(path.join(ROOT, 'dist/cli.js')).mtimeMs).toISOString();
  snapshotBuild();
  if (opts.baselineBin) useBaseline(opts.baselineBin);

  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsFile = path.join(resultsDir, `${stamp}.jsonl`);
  const jsonl = (object) => appendFileSync(resultsFile, JSON.stringify({ time: new Date().toISOString(), ...object }) + '\n');
  const progress = (line) => process.stderr.write(`bench: ${line}\n`);

  const machine = machineInfo();
  const loadBefore = machineLoad();
  const pinningText = describePinning();
  const commit = gitCommit();
  const baseline = opts.baselineBin ? `${gitCommit(path.resolve(path.dirname(opts.baselineBin), '..'))}, ${opts.baselineBin}` : undefined;
  const modeLabel = opts.quick ? 'quick mode, 1 repetition' : `${opts.reps} repetition${opts.reps === 1 ? '' : 's'}`;
  progress(`${modeLabel}; scenarios: ${opts.scenarios.map((s) => s.name).join(', ')}`);
  progress(`${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; load ${loadBefore.load}, CPU pressure ${loadBefore.pressure}`);
  progress(pinningText);
  progress(`raw results: ${path.relative(ROOT, resultsFile)}`);
  progress(`measuring the build of ${buildMtime} (dist/ copied aside, so rebuilds during the run do not mix in)`);
  if (baseline) progress(`peer-signal (before): ${baseline}`);
  for (const w of warnings) progress(`warning: ${w}`);
  jsonl({ type: 'run', machine, pinning: pinningText, commit, baseline, buildMtime, opts: { ...opts, scenarios: opts.scenarios.map((s) => s.name) }, load: loadBefore });

  const measurements = [];
  const usages = [];
  const notes = new Map();
  let failures = 0;
  let loadgen = await startLoadgen(opts.workers);

  const ctx = {
    opts,
    get loadgen() {
      return loadgen;
    },
    order: () => opts.servers,
    progress,
    note(scenario, text) {
      if (!notes.has(scenario)) notes.set(scenario, []);
      if (notes.get(scenario).includes(text)) return;
      notes.get(scenario).push(text);
      jsonl({ type: 'note', scenario, text });
    },
    warn(text) {
      warnings.push(text);
      progress(`warning: ${text}`);
      jsonl({ type: 'warning', text });
    },
    measure(metric, server, rep, value, extra = {}) {
      measurements.push({ metric, server, rep, value });
      jsonl({ type: 'measurement', metric, server, rep, value, ...extra });
      progress(`  ${metric} ${server} rep ${rep}: ${fmt(value)}`);
    },
    usage(scenario, server, rep, cpu, load) {
      const entry = {
        scenario,
        server,
        rep,
        serverPct: cpu.pct,
        serverWaitPct: cpu.waitPct,
        loadPct: load.pct,
        loadWaitPct: load.waitPct,
        loadWorkerMaxPct: Math.max(...load.perPidPct),
      };
      usages.push(entry);
      jsonl({ type: 'usage', ...entry, serverCpuSec: cpu.cpuSec, wallSec: cpu.wallSec, loadPerWorkerPct: load.perPidPct });
      if (load.pct >= SATURATION_PCT) {
        ctx.warn(`${scenario} rep ${rep} (${server}): the load generator used ${fmt(load.pct)} % of its core, near saturation; that run may measure the load generator rather than the server`);
      }
    },
  };

  for (const scenario of opts.scenarios) {
    const t0 = performance.now();
    progress(`— ${scenario.title}`);
    const running = scenario.run(ctx);
    try {
      await withDeadline(running, scenario.budgetMs(opts), scenario.name);
    } catch (error) {
      failures++;
      running.catch(() => {});
      ctx.warn(`scenario ${scenario.name} failed: ${error.message}`);
      // Whatever it left running (servers, sockets) goes; the next scenario gets fresh load workers.
      killAllNow();
      loadgen = await startLoadgen(opts.workers);
    }
    progress(`  ${scenario.name} took ${Math.round((performance.now() - t0) / 1000)} s`);
  }

  let cpuProfile;
  if (opts.cpuProf) {
    try {
      const profile = await withDeadline(profileRelay(ctx), 120_000, 'cpu profile');
      cpuProfile =
        `\`node --cpu-prof\` on peer-signal during ${opts.relayPairs} pairs × ${opts.relayInflight} in flight (profile, kept locally: \`${profile.file}\`); self time, idle excluded. ` +
        'Builtins such as `JSON.parse` have no frame of their own, so their time shows as the self time of the JS function that calls them; ' +
        '`writev` includes the kernel\'s loopback TCP work for the frames sent.\n\n' +
        markdownTable([['function', 'self %', 'self ms'], ...profile.top.map((f) => [`\`${f.name}\``, f.pct.toFixed(1), f.ms.toFixed(0)])]);
      jsonl({ type: 'cpu-profile', file: profile.file, top: profile.top });
    } catch (error) {
      ctx.warn(`cpu profile failed: ${error.message}`);
    }
  }
  await loadgen.stop();

  const summary = summarize(comparisons(opts), measurements, opts.reps);
  const clusterSummary = summarize(CLUSTER_ROWS, measurements, opts.reps);
  const usage = usageCells(usages, SATURATION_PCT);
  const loadAfter = machineLoad();
  const durationSec = (Date.now() - started.getTime()) / 1000;
  const loadText = `load average ${loadBefore.load} → ${loadAfter.load}; CPU pressure (some, avg10 / avg60) ${loadBefore.pressure} → ${loadAfter.pressure}`;

  const out = [];
  out.push(
    '',
    `reference = peer@1.0.2; bare ws relay = bench/targets/bare-relay.mjs${baseline ? `; peer-signal (before) = ${baseline}` : ''}`,
    `${modeLabel}; values and ratios are medians [min–max] over repetitions`,
    '',
  );
  if (summary.length > 0) out.push(textTable(tableCells(summary, opts.reps)), '');
  if (clusterSummary.length > 0) out.push('cluster mode (peer-signal only), ratio = cross-instance / same-instance', '', textTable(tableCells(clusterSummary, opts.reps)), '');
  if (usage.length > 1) out.push('CPU use, % of one core', '', textTable(usage), '');
  if (cpuProfile) out.push(cpuProfile, '');
  out.push(pinningText);
  for (const [scenario, list] of notes) out.push(`${scenario}: ${list.join(' ')}`);
  out.push(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ${loadText}`);
  if (warnings.length > 0) out.push('', 'warnings:', ...warnings.map((w) => `  - ${w}`));
  const verdicts = verdictCounts(summary);
  out.push('', `targets met: ${verdicts.map((v) => `${v.title} ${v.passed} of ${v.targeted}`).join('; ') || 'none measured'}; raw results in ${path.relative(ROOT, resultsFile)} (${Math.round(durationSec)} s)`);
  process.stdout.write(out.join('\n') + '\n');
  jsonl({ type: 'summary', summary, clusterSummary, durationSec, loadAfter });

  if (opts.writeDocs) {
    const docsDir = path.join(ROOT, 'docs');
    mkdirSync(docsDir, { recursive: true });
    const chartRows = summary.flatMap((row) => {
      const ratio = row.ratios.find((r) => r.to === 'reference');
      return ratio ? [{ label: row.label, better: row.better, medianRatio: ratio.median, target: ratio.target.value, targetText: targetText(row, ratio.target), verdict: ratio.verdict }] : [];
    });
    const svg = ratioChartSvg(chartRows, {
      title: 'peer-signal / reference (peer@1.0.2): median ratio per metric',
      subtitle: `${modeLabel}, ${started.toISOString().slice(0, 10)}, ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; green = ahead of the reference`,
    });
    writeSvg(svg, path.join(docsDir, 'benchmarks-ratios.svg'));
    const png = await renderPng(svg, path.join(docsDir, 'benchmarks-ratios.png'));
    if (!png.ok) progress(`chart: PNG not rendered (${png.reason}); docs/benchmarks-ratios.svg written`);
    let markdown = benchmarksMarkdown({
      opts,
      summary,
      clusterSummary,
      usageCells: usage,
      notes,
      warnings,
      machine,
      pinningText,
      pinned: pinning.enabled,
      saturation: SATURATION_PCT,
      loadText,
      startedAt: started.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'),
      durationSec,
      commit: `${commit}, build of ${buildMtime.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
      baseline,
      verdicts,
      handNotes: readText(path.join(ROOT, 'bench/notes.md')),
      modeLabel,
      resultsFile: path.relative(ROOT, resultsFile),
      cpuProfile,
    });
    if (!png.ok) markdown = markdown.replace('benchmarks-ratios.png', 'benchmarks-ratios.svg');
    writeFileSync(path.join(docsDir, 'benchmarks.md'), markdown);
    progress('wrote docs/benchmarks.md and the chart');
  }
  process.exitCode = failures > 0 ? 1 : 0;
}

main().catch((error) => {
  process.stderr.write(`error: ${error.stack ?? error}\n`);
  killAllNow();
  process.exitCode = 1;
});
