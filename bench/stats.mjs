// Small summaries for benchmark tables.

/** The median of numbers (the mean of the middle two for an even count); NaN for none. */
export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `{ min, median, max }` of numbers; NaN throughout for none. */
export function summarize(values) {
  if (values.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN };
  return { min: Math.min(...values), median: median(values), max: Math.max(...values) };
}

/**
 * The p-th percentile (0 < p <= 100) of numbers by the nearest-rank method:
 * the smallest value with at least p % of the values at or below it. NaN for none.
 * Pass `{ sorted: true }` for an already ascending array (e.g. 100k latencies) to skip the copy.
 */
export function percentile(values, p, { sorted = false } = {}) {
  if (values.length === 0) return Number.NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile: expected 0 < p <= 100, got ${p}`);
  const s = sorted ? values : Float64Array.from(values).sort();
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}

/** `a / b` as a string like `x10.2` for a table; `n/a` when either side is missing or b is 0. */
export function ratio(a, b, digits = 2) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  return `x${(a / b).toFixed(digits)}`;
}

export const MiB = 1024 * 1024;

/** Bytes as MiB with one decimal (`'1150.0'`); `n/a` for a missing value. */
export function mib(bytes, digits = 1) {
  return Number.isFinite(bytes) ? (bytes / MiB).toFixed(digits) : 'n/a';
}

/** `'pass'` when `value < limit`, `'FAIL'` otherwise, `n/a` when the value is missing. */
export function verdict(value, limit) {
  if (!Number.isFinite(value)) return 'n/a';
  return value < limit ? 'pass' : 'FAIL';
}

/** A small seeded PRNG (mulberry32): the same seed gives the same numbers in [0, 1), so a bench's intervals repeat. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `stat(a) / stat(b)` with a percentile bootstrap interval: both samples are drawn again with replacement
 * `iterations` times and the ratio taken each time; `lo`/`hi` are its (100 - level)/2 and (100 + level)/2
 * percentiles. For comparing two pooled samples (e.g. every event's latency with a feature on and off) whose
 * run-to-run noise is larger than the effect. NaN throughout when either sample is empty.
 */
export function bootstrapRatio(a, b, { stat = median, iterations = 2000, level = 95, seed = 1 } = {}) {
  if (a.length === 0 || b.length === 0) return { ratio: Number.NaN, lo: Number.NaN, hi: Number.NaN };
  const random = seededRandom(seed);
  const draw = (values) => Array.from(values, () => values[Math.floor(random() * values.length)]);
  const ratios = [];
  for (let i = 0; i < iterations; i++) ratios.push(stat(draw(a)) / stat(draw(b)));
  ratios.sort((x, y) => x - y);
  const tail = (100 - level) / 2;
  return { ratio: stat(a) / stat(b), lo: percentile(ratios, tail, { sorted: true }), hi: percentile(ratios, 100 - tail, { sorted: true }) };
}
