// Medians, min–max, and a mergeable log-bucket histogram (1 % resolution) for latencies in microseconds.

const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** 2,000 buckets cover 1 µs to about 7 minutes at 1 % resolution. */
export const HIST_SIZE = 2000;

export function createHistogram() {
  return new Uint32Array(HIST_SIZE);
}

export function histRecord(hist, us) {
  const index = us <= 1 ? 0 : Math.min(HIST_SIZE - 1, Math.ceil(Math.log(us) / LOG_GROWTH));
  hist[index]++;
}

/** Sparse form for IPC: [[index, count], ...]. */
export function histToSparse(hist) {
  const out = [];
  for (let i = 0; i < hist.length; i++) if (hist[i] !== 0) out.push([i, hist[i]]);
  return out;
}

export function histMerge(target, sparse) {
  for (const [index, count] of sparse) target[index] += count;
  return target;
}

export function histCount(hist) {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i];
  return total;
}

/** The value (µs, bucket midpoint) at quantile q in [0, 1]; NaN for an empty histogram. */
export function histQuantile(hist, q) {
  const total = histCount(hist);
  if (total === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= rank) return i === 0 ? 1 : Math.pow(GROWTH, i - 0.5);
  }
  return NaN;
}

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function minMax(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return [NaN, NaN];
  return [Math.min(...finite), Math.max(...finite)];
}
