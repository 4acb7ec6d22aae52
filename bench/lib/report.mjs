// Turns measurements into the summary (medians, min–max, per-repetition ratios, PASS/MISS) and prints it as a table.
import { median, minMax } from './stats.mjs';

/** peer-signal vs reference comparisons, in table order; `target` is the ratio peer-signal / reference to reach. */
export function comparisons(opts) {
  const [low, top] = [opts.idlePeers[0], opts.idlePeers[opts.idlePeers.length - 1]];
  const rows = [
    { key: 'relay.rate', label: 'relay throughput', unit: 'msgs/s', better: 'higher', target: 1.4 },
    { key: 'probe.p50', label: 'relay p50, unloaded', unit: 'ms', better: 'lower' },
    { key: 'probe.p99', label: 'relay p99, unloaded', unit: 'ms', better: 'lower', target: 0.9 },
    { key: 'relay.p50', label: 'relay p50, loaded', unit: 'ms', better: 'lower' },
    { key: 'relay.p99', label: 'relay p99, loaded', unit: 'ms', better: 'lower', target: 0.75 },
    { key: 'relay.cpuPerMsg', label: 'relay server CPU per msg', unit: 'µs', better: 'lower' },
    { key: 'connect.rate', label: 'connect rate', unit: 'sessions/s', better: 'higher', target: 1.2 },
    { key: 'connect.p50', label: 'connect p50', unit: 'ms', better: 'lower' },
    { key: 'connect.p99', label: 'connect p99', unit: 'ms', better: 'lower' },
    { key: 'connect.cpuPerSession', label: 'connect server CPU per session', unit: 'µs', better: 'lower' },
    { key: 'idle.baseRss', label: 'RSS before any peer', unit: 'MiB', better: 'lower' },
    ...(opts.idlePeers.length > 1
      ? [{ key: 'idle.bytesPerPeerLow', label: `bytes per idle peer @${low.toLocaleString('en-US')}`, unit: 'B', better: 'lower', target: 0.8 }]
      : []),
    { key: 'idle.bytesPerPeerTop', label: `bytes per idle peer @${top.toLocaleString('en-US')}`, unit: 'B', better: 'lower', target: 0.8 },
    { key: 'idle.cpuTop', label: `idle CPU @${top.toLocaleString('en-US')}`, unit: '% core', better: 'lower', target: 0.6 },
    { key: 'idle.bytesPerPeerSettled', label: `bytes per idle peer @${top.toLocaleString('en-US')}, after ${opts.idleQuietSeconds + opts.idleCpuSeconds} s idle`, unit: 'B', better: 'lower' },
    { key: 'cold.ms', label: 'cold start', unit: 'ms', better: 'lower', target: 0.4 },
    { key: 'id.rps', label: 'id endpoint', unit: 'req/s', better: 'higher', target: 5 },
  ];
  return rows.map((row) => ({ ...row, a: 'reference', b: 'peer-signal' }));
}

/** Cluster mode (peer-signal only): cross-instance vs same-instance pairs. */
export const CLUSTER_ROWS = [
  { key: 'cluster.rate', label: 'relay throughput', unit: 'msgs/s', better: 'higher' },
  { key: 'cluster.p50', label: 'relay p50, loaded', unit: 'ms', better: 'lower' },
  { key: 'cluster.p99', label: 'relay p99, loaded', unit: 'ms', better: 'lower' },
  { key: 'cluster.probeP50', label: 'relay p50, unloaded', unit: 'ms', better: 'lower' },
  { key: 'cluster.probeP99', label: 'relay p99, unloaded', unit: 'ms', better: 'lower' },
  { key: 'cluster.cpuPerMsg', label: 'CPU per msg (2 instances + Redis)', unit: 'µs', better: 'lower' },
].map((row) => ({ ...row, a: 'same-instance', b: 'cross-instance' }));

function side(measurements, key, server, reps) {
  const values = Array.from({ length: reps }, (_, i) => {
    const found = measurements.find((m) => m.metric === key && m.server === server && m.rep === i + 1);
    return found ? found.value : NaN;
  });
  const [min, max] = minMax(values);
  return { values, median: median(values), min, max };
}

export function meets(row, ratio) {
  if (row.target === undefined || !Number.isFinite(ratio)) return '';
  return (row.better === 'higher' ? ratio >= row.target : ratio <= row.target) ? 'PASS' : 'MISS';
}

/** Medians, min–max, the ratio b / a per repetition and its median, and the verdict against the target. */
export function summarize(rows, measurements, reps) {
  return rows
    .map((row) => {
      const a = side(measurements, row.key, row.a, reps);
      const b = side(measurements, row.key, row.b, reps);
      const ratios = a.values.map((value, i) => b.values[i] / value);
      const medianRatio = median(ratios);
      return { ...row, aStats: a, bStats: b, ratios, medianRatio, verdict: meets(row, medianRatio) };
    })
    .filter((row) => row.aStats.values.some(Number.isFinite) || row.bStats.values.some(Number.isFinite));
}

export function fmt(value) {
  if (!Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function fmtRatio(value) {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '—';
}

export function targetText(row) {
  if (row.target === undefined) return '';
  return `${row.better === 'higher' ? '≥' : '≤'} ${row.target}×`;
}

function stat(s, reps) {
  if (!s.values.some(Number.isFinite)) return '—';
  return reps > 1 ? `${fmt(s.median)} [${fmt(s.min)}–${fmt(s.max)}]` : fmt(s.median);
}

/** The table rows as arrays of cells, shared by the terminal and the Markdown output. */
export function tableCells(summary, reps) {
  const header = ['metric', 'unit', summary[0]?.a ?? 'a', summary[0]?.b ?? 'b', 'ratio per rep', 'median ratio', 'target', 'result'];
  const body = summary.map((row) => [
    `${row.label} (${row.better} is better)`,
    row.unit,
    stat(row.aStats, reps),
    stat(row.bStats, reps),
    row.ratios.map((r) => (Number.isFinite(r) ? r.toFixed(2) : '—')).join(' '),
    fmtRatio(row.medianRatio),
    targetText(row),
    row.verdict,
  ]);
  return [header, ...body];
}

export function textTable(cells) {
  const widths = cells[0].map((_, col) => Math.max(...cells.map((row) => String(row[col]).length)));
  return cells
    .map((row, i) => {
      const line = row.map((cell, col) => String(cell).padEnd(widths[col])).join('  ').trimEnd();
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

export function markdownTable(cells) {
  const escape = (cell) => String(cell).replace(/\|/g, '\\|');
  const [header, ...body] = cells;
  return [
    `| ${header.map(escape).join(' | ')} |`,
    `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`,
    ...body.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}

/** Server and load generator CPU per scenario (medians over repetitions), with a saturation flag for the load generator. */
export function usageCells(usages, threshold) {
  const groups = new Map();
  for (const u of usages) {
    const key = `${u.scenario}\u0000${u.server}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(u);
  }
  const rows = [['scenario', 'server', 'server CPU %', 'server waiting for CPU %', 'load gen CPU % (max)', 'load gen waiting %', 'note']];
  for (const list of groups.values()) {
    const loadMax = Math.max(...list.map((u) => u.loadPct));
    rows.push([
      list[0].scenario,
      list[0].server,
      fmt(median(list.map((u) => u.serverPct))),
      fmt(median(list.map((u) => u.serverWaitPct))),
      `${fmt(median(list.map((u) => u.loadPct)))} (${fmt(loadMax)})`,
      fmt(median(list.map((u) => u.loadWaitPct))),
      loadMax >= threshold ? 'load generator near saturation' : '',
    ]);
  }
  return rows;
}
