// The arithmetic and the tables of `npm run bench`: pure functions of the
// measured numbers (unit-tested on fixed inputs in test/unit/bench-report.test.ts).
//
// A row's result: { id, title, variants, status: 'ok' | 'not run' | 'failed',
// reason?, samples: { [variant]: Metrics[] } (one entry per repetition),
// compare: Compare[], checks: Check[] } (types in ./row.d.ts).

import { median, summarize } from '../stats.mjs';

/** Unit suffixes of metric names, longest first: `wall_s` is seconds, `events_per_s` a rate. */
const UNITS = [
  ['_per_s', '/s'],
  ['_mib', 'MiB'],
  ['_pct', '%'],
  ['_ms', 'ms'],
  ['_us', 'µs'],
  ['_ns', 'ns'],
  ['_s', 's'],
];

/** The unit of a metric, read from its name's suffix (`''` when none). */
export function unitOf(metric) {
  for (const [suffix, unit] of UNITS) if (metric.endsWith(suffix)) return unit;
  return '';
}

/** A number for a table: 3 significant digits, thousands separated, integers as they are; `n/a` when missing. */
export function formatNumber(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'n/a';
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(abs)));
  return value.toFixed(Math.min(digits, 6));
}

/** `value unit`, e.g. `0.681 s`, `12,400 /s`, `212 MiB`. */
export function formatValue(value, metric) {
  const unit = unitOf(metric);
  const n = formatNumber(value);
  return unit && n !== 'n/a' ? `${n} ${unit}` : n;
}

/** The per-repetition values of one metric of one variant (NaN where a repetition lacks it). */
export function series(samples, variant, metric) {
  return (samples[variant] ?? []).map((m) => (typeof m?.[metric] === 'number' ? m[metric] : Number.NaN));
}

const finite = (values) => values.filter((v) => Number.isFinite(v));

/** min, median, max of the finite values (NaN throughout for none) and how many there were. */
export function summary(values) {
  const ok = finite(values);
  return { ...summarize(ok), n: ok.length };
}

/** 'pass' when the value is within the target's inclusive bounds, 'FAIL' when not, 'n/a' when missing or no target. */
export function meets(value, target) {
  if (!target || !Number.isFinite(value)) return 'n/a';
  if (target.min !== undefined && value < target.min) return 'FAIL';
  if (target.max !== undefined && value > target.max) return 'FAIL';
  return 'pass';
}

/** `<= 1.10`, `>= 0.50`, `0.50 .. 1.10` (a ratio), `<= 256 MiB` (with a metric), or `-` for no target. */
export function formatTarget(target, metric = '') {
  if (!target || (target.min === undefined && target.max === undefined)) return '-';
  // A ratio target reads like the ratio column (two decimals); an absolute one carries the metric's unit.
  const f = (v) => (metric ? formatValue(v, metric) : v.toFixed(2));
  if (target.min !== undefined && target.max !== undefined) return `${f(target.min)} .. ${f(target.max)}`;
  return target.max !== undefined ? `<= ${f(target.max)}` : `>= ${f(target.min)}`;
}

/**
 * One comparison: the ratio median(subject) / median(baseline), and the
 * min/max of the per-repetition ratios (repetition i of the subject over
 * repetition i of the baseline; repetitions missing either side are left out).
 */
export function compareOf(samples, cmp) {
  const subject = series(samples, cmp.subject, cmp.metric);
  const baseline = series(samples, cmp.baseline, cmp.baselineMetric ?? cmp.metric);
  const perRep = [];
  for (let i = 0; i < Math.min(subject.length, baseline.length); i++) {
    const s = subject[i];
    const b = baseline[i];
    if (Number.isFinite(s) && Number.isFinite(b) && b !== 0) perRep.push(s / b);
  }
  const s = summary(subject);
  const b = summary(baseline);
  const ratio = Number.isFinite(s.median) && Number.isFinite(b.median) && b.median !== 0 ? s.median / b.median : Number.NaN;
  const spread = summary(perRep);
  return { subject: s, baseline: b, ratio, min: spread.min, max: spread.max, verdict: meets(ratio, cmp.target) };
}

/** One absolute check on a variant's median. */
export function checkOf(samples, chk) {
  const s = summary(series(samples, chk.variant, chk.metric));
  return { ...s, verdict: meets(s.median, chk.target) };
}

/** Every metric key any variant of the row reported, in first-seen order. */
export function metricsOf(result) {
  const keys = [];
  for (const v of result.variants) for (const m of result.samples[v] ?? []) for (const k of Object.keys(m ?? {})) if (!keys.includes(k)) keys.push(k);
  return keys;
}

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const tableOf = (head, rows) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');

/** `median (min .. max)` of a summary with a unit. */
export function formatSummary(s, metric) {
  if (s.n === 0) return 'n/a';
  if (s.n === 1 || s.min === s.max) return formatValue(s.median, metric);
  return `${formatValue(s.median, metric)} (${formatNumber(s.min)} .. ${formatNumber(s.max)})`;
}

/** `x0.95 (0.91 .. 0.99)`: the ratio of medians and the range of the per-repetition ratios. */
export function formatRatio(c) {
  if (!Number.isFinite(c.ratio)) return 'n/a';
  const head = `x${c.ratio.toFixed(2)}`;
  return Number.isFinite(c.min) ? `${head} (${c.min.toFixed(2)} .. ${c.max.toFixed(2)})` : head;
}

/** What the result column says for a row that did not complete. */
function unfinished(result) {
  return `${result.status}: ${result.reason ?? 'no reason given'}`;
}

/**
 * The summary table: one line per comparison and per check of every row, or
 * one line saying why a row was not run. Columns: row, what, measured
 * (medians with min .. max over the repetitions), ratio, target, result.
 */
export function summaryTable(results) {
  const lines = [];
  for (const r of results) {
    const items = [...(r.compare ?? []).map((c) => ['compare', c]), ...(r.checks ?? []).map((c) => ['check', c])];
    if (r.status === 'not run' || items.length === 0) {
      const measured = r.status === 'not run' ? '-' : metricsOf(r).slice(0, 2).map((m) => r.variants.map((v) => `${v} ${m} ${formatSummary(summary(series(r.samples, v, m)), m)}`).join(', ')).join('; ') || '-';
      lines.push([r.id, r.title, measured, '-', '-', r.status === 'ok' ? 'measured' : unfinished(r)]);
      continue;
    }
    for (const [kind, item] of items) {
      const status = r.status === 'ok' ? null : unfinished(r);
      if (kind === 'compare') {
        const c = compareOf(r.samples, item);
        const bm = item.baselineMetric ?? item.metric;
        const what = item.baselineMetric ? `${item.subject} ${item.metric} / ${item.baseline} ${bm}` : `${item.metric}: ${item.subject} / ${item.baseline}`;
        const measured = `${item.subject} ${formatSummary(c.subject, item.metric)}; ${item.baseline}${item.baselineMetric ? ` ${bm}` : ''} ${formatSummary(c.baseline, bm)}`;
        lines.push([r.id, what, measured, formatRatio(c), formatTarget(item.target), status ?? c.verdict]);
      } else {
        const c = checkOf(r.samples, item);
        lines.push([r.id, `${item.metric}: ${item.variant}`, formatSummary(c, item.metric), '-', formatTarget(item.target, item.metric), status ?? c.verdict]);
      }
    }
  }
  return tableOf(['row', 'what', 'measured: median (min .. max)', 'ratio of medians (per-rep min .. max)', 'target', 'result'], lines);
}

/** Every metric of one row, variant by variant: median (min .. max) over the repetitions. */
export function detailTable(result) {
  const metrics = metricsOf(result);
  if (metrics.length === 0) return '(no measurements)';
  return tableOf(
    ['metric', ...result.variants],
    metrics.map((m) => [m, ...result.variants.map((v) => formatSummary(summary(series(result.samples, v, m)), m))]),
  );
}

/** Counts of verdicts over all comparisons and checks, and rows not run / failed. */
export function tally(results) {
  const t = { pass: 0, FAIL: 0, 'n/a': 0, 'not run': 0, failed: 0 };
  for (const r of results) {
    if (r.status !== 'ok') {
      t[r.status]++;
      continue;
    }
    for (const c of r.compare ?? []) t[compareOf(r.samples, c).verdict]++;
    for (const c of r.checks ?? []) t[checkOf(r.samples, c).verdict]++;
  }
  return t;
}

/** A row's own repetitions, when they differ from the run's (`minReps`) or alternate their variants; else ''. */
export function repetitionsNote(result, reps) {
  const recorded = Math.max(0, ...Object.values(result.samples ?? {}).map((s) => s.length));
  if (recorded === reps && !result.alternate) return '';
  const order = result.alternate ? ", the variants' order reversed in every other one" : '';
  return `${recorded} repetitions${order}.`;
}

/** The whole BENCHMARKS.md: header with the run's facts, the summary table, then each row's details. */
export function renderReport(results, meta) {
  const t = tally(results);
  const out = [
    '# Benchmarks',
    '',
    `Generated by \`${meta.command}\` — do not edit by hand. How to read it: README.md, "Benchmarks".`,
    '',
    `- date: ${meta.date}`,
    `- commit: ${meta.commit}`,
    `- machine: ${meta.cpus} x ${meta.cpuModel}, ${meta.ramGiB} GiB RAM, ${meta.platform}`,
    `- load average (1/5/15 min): before ${meta.loadBefore}, after ${meta.loadAfter}`,
    `- versions: node ${meta.node}, kafka ${meta.kafka}, ansible-core ${meta.ansible}`,
    `- repetitions: ${meta.reps}${meta.quick ? ' (quick: smaller sizes)' : ''}; variants measured one after the other within each repetition`,
    `- verdicts: ${t.pass} pass, ${t.FAIL} FAIL, ${t['n/a']} n/a; rows not run: ${t['not run']}, failed: ${t.failed}`,
    '',
    '## Summary',
    '',
    summaryTable(results),
    '',
    '## Rows',
  ];
  for (const r of results) {
    out.push('', `### ${r.id}: ${r.title}`, '');
    if (r.status !== 'ok') out.push(`**${unfinished(r)}**`, '');
    const own = repetitionsNote(r, meta.reps);
    if (own) out.push(own, '');
    if (r.status !== 'not run') out.push(detailTable(r));
  }
  return out.join('\n') + '\n';
}

export { median };
