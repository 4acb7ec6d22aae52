// Turns measurements into the summary (medians, min–max, ratios to the reference, the bare relay and a baseline, PASS/MISS) and prints it as a table.
import { median, minMax } from './stats.mjs';

/** How each server kind is named in tables and docs. */
export const SERVER_LABELS = { reference: 'reference', bare: 'bare ws relay', before: 'peer-signal (before)', 'peer-signal': 'peer-signal' };

export const serverLabel = (kind) => SERVER_LABELS[kind] ?? kind;

/**
 * The main table, in row order: every row compares peer-signal with the reference (target: ahead, ratio
 * better than 1), the rows marked `vsBare` also with the bare ws relay (target: within 5 % or better), and,
 * with a baseline build, with the older peer-signal (no target).
 */
export function comparisons(opts) {
  const [low, top] = [opts.idlePeers[0], opts.idlePeers[opts.idlePeers.length - 1]];
  const rows = [
    { key: 'relay.rate', label: 'relay throughput', unit: 'msgs/s', better: 'higher', vsBare: true },
    { key: 'probe.p50', label: 'relay p50, unloaded', unit: 'ms', better: 'lower' },
    { key: 'probe.p99', label: 'relay p99, unloaded', unit: 'ms', better: 'lower' },
    { key: 'relay.p50', label: 'relay p50, loaded', unit: 'ms', better: 'lower' },
    { key: 'relay.p99', label: 'relay p99, loaded', unit: 'ms', better: 'lower' },
    { key: 'relay.cpuPerMsg', label: 'relay server CPU per msg', unit: 'µs', better: 'lower' },
    { key: 'connect.rate', label: 'connect rate', unit: 'sessions/s', better: 'higher', vsBare: true },
    { key: 'connect.p50', label: 'connect p50', unit: 'ms', better: 'lower' },
    { key: 'connect.p99', label: 'connect p99', unit: 'ms', better: 'lower' },
    { key: 'connect.cpuPerSession', label: 'connect server CPU per session', unit: 'µs', better: 'lower' },
    { key: 'idle.baseRss', label: 'RSS before any peer', unit: 'MiB', better: 'lower' },
    ...(opts.idlePeers.length > 1
      ? [{ key: 'idle.bytesPerPeerLow', label: `bytes per idle peer @${low.toLocaleString('en-US')}`, unit: 'B', better: 'lower', vsBare: true }]
      : []),
    { key: 'idle.bytesPerPeerTop', label: `bytes per idle peer @${top.toLocaleString('en-US')}`, unit: 'B', better: 'lower', vsBare: true },
    { key: 'idle.cpuTop', label: `idle CPU @${top.toLocaleString('en-US')}`, unit: '% core', better: 'lower', vsBare: true },
    { key: 'idle.bytesPerPeerSettled', label: `bytes per idle peer @${top.toLocaleString('en-US')}, after ${opts.idleQuietSeconds + opts.idleCpuSeconds} s idle`, unit: 'B', better: 'lower' },
    { key: 'cold.ms', label: 'cold start', unit: 'ms', better: 'lower', vsBare: true },
    { key: 'id.rps', label: 'id endpoint', unit: 'req/s', better: 'higher' },
  ];
  return rows.map(({ vsBare, ...row }) => ({
    ...row,
    servers: opts.servers,
    ratios: [
      { title: 'peer-signal / reference', of: 'peer-signal', to: 'reference', target: { value: 1, strict: true } },
      { title: 'peer-signal / bare', of: 'peer-signal', to: 'bare', target: vsBare ? { value: row.better === 'higher' ? 0.95 : 1.05 } : undefined },
      ...(opts.servers.includes('before') ? [{ title: 'after / before', of: 'peer-signal', to: 'before' }] : []),
    ].filter((ratio) => opts.servers.includes(ratio.to)),
  }));
}

/** Cluster mode (peer-signal only): cross-instance vs same-instance pairs. */
export const CLUSTER_ROWS = [
  { key: 'cluster.rate', label: 'relay throughput', unit: 'msgs/s', better: 'higher' },
  { key: 'cluster.p50', label: 'relay p50, loaded', unit: 'ms', better: 'lower' },
  { key: 'cluster.p99', label: 'relay p99, loaded', unit: 'ms', better: 'lower' },
  { key: 'cluster.probeP50', label: 'relay p50, unloaded', unit: 'ms', better: 'lower' },
  { key: 'cluster.probeP99', label: 'relay p99, unloaded', unit: 'ms', better: 'lower' },
  { key: 'cluster.cpuPerMsg', label: 'CPU per msg (2 instances + Redis)', unit: 'µs', better: 'lower' },
  { key: 'cluster.redisCpuPerMsg', label: 'of which Redis', unit: 'µs', better: 'lower' },
].map((row) => ({
  ...row,
  servers: ['same-instance', 'cross-instance'],
  ratios: [{ title: 'cross / same', of: 'cross-instance', to: 'same-instance' }],
}));

function side(measurements, key, server, reps) {
  const values = Array.from({ length: reps }, (_, i) => {
    const found = measurements.find((m) => m.metric === key && m.server === server && m.rep === i + 1);
    return found ? found.value : NaN;
  });
  const [min, max] = minMax(values);
  return { values, median: median(values), min, max };
}

export function meets(row, target, ratio) {
  if (target === undefined || !Number.isFinite(ratio)) return '';
  const higher = row.better === 'higher';
  const ok = target.strict ? (higher ? ratio > target.value : ratio < target.value) : higher ? ratio >= target.value : ratio <= target.value;
  return ok ? 'PASS' : 'MISS';
}

/** Per server: values by repetition, median and min–max; per ratio: its value per repetition, median, min–max and verdict. */
export function summarize(rows, measurements, reps) {
  return rows
    .map((row) => {
      const stats = Object.fromEntries(row.servers.map((server) => [server, side(measurements, row.key, server, reps)]));
      const ratios = row.ratios.map((ratio) => {
        // A base of zero or below (RSS that shrank below its starting point) makes no ratio.
        const values = stats[ratio.to].values.map((value, i) => (value > 0 ? stats[ratio.of].values[i] / value : NaN));
        const [min, max] = minMax(values);
        const m = median(values);
        return { ...ratio, values, median: m, min, max, verdict: meets(row, ratio.target, m) };
      });
      return { ...row, stats, ratios };
    })
    .filter((row) => Object.values(row.stats).some((s) => s.values.some(Number.isFinite)));
}

/** The PASS count of each ratio that has targets: [{ title, passed, targeted }]. */
export function verdictCounts(summary) {
  const counts = new Map();
  for (const row of summary) {
    for (const ratio of row.ratios) {
      if (ratio.target === undefined) continue;
      const count = counts.get(ratio.title) ?? { title: ratio.title, passed: 0, targeted: 0 };
      count.targeted++;
      if (ratio.verdict === 'PASS') count.passed++;
      counts.set(ratio.title, count);
    }
  }
  return [...counts.values()];
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

export function targetText(row, target) {
  if (target === undefined) return '';
  const sign = row.better === 'higher' ? (target.strict ? '>' : '≥') : target.strict ? '<' : '≤';
  return `${sign} ${target.value}×`;
}

function stat(s, reps) {
  if (!s.values.some(Number.isFinite)) return '—';
  return reps > 1 ? `${fmt(s.median)} [${fmt(s.min)}–${fmt(s.max)}]` : fmt(s.median);
}

function ratioCell(ratio, reps) {
  if (!Number.isFinite(ratio.median)) return '—';
  return reps > 1 ? `${fmtRatio(ratio.median)} [${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}]` : fmtRatio(ratio.median);
}

/**
 * The table rows as arrays of cells, shared by the terminal and the Markdown output: a column per server,
 * then per ratio its median [min–max over repetitions] and, when any row has one, its target and verdict.
 */
export function tableCells(summary, reps) {
  const first = summary[0];
  if (first === undefined) return [['metric']];
  const withTargets = first.ratios.map((ratio) => summary.some((row) => row.ratios.find((r) => r.title === ratio.title)?.target !== undefined));
  const header = ['metric', 'unit', ...first.servers.map(serverLabel)];
  first.ratios.forEach((ratio, i) => header.push(ratio.title, ...(withTargets[i] ? ['target', 'result'] : [])));
  const body = summary.map((row) => {
    const cells = [`${row.label} (${row.better} is better)`, row.unit, ...row.servers.map((server) => stat(row.stats[server], reps))];
    row.ratios.forEach((ratio, i) => cells.push(ratioCell(ratio, reps), ...(withTargets[i] ? [targetText(row, ratio.target), ratio.verdict] : [])));
    return cells;
  });
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
      serverLabel(list[0].server),
      fmt(median(list.map((u) => u.serverPct))),
      fmt(median(list.map((u) => u.serverWaitPct))),
      `${fmt(median(list.map((u) => u.loadPct)))} (${fmt(loadMax)})`,
      fmt(median(list.map((u) => u.loadWaitPct))),
      loadMax >= threshold ? 'load generator near saturation' : '',
    ]);
  }
  return rows;
}
