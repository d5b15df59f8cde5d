import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkOf,
  compareOf,
  formatNumber,
  formatRatio,
  formatTarget,
  formatValue,
  meets,
  renderReport,
  repetitionsNote,
  summaryTable,
  tally,
  unitOf,
  type RowResult,
} from '../../bench/lib/report.mjs';
import { discover, orderOf, repsOf, rowProblems, runRow, select } from '../../bench/lib/runner.mjs';

// Three repetitions of two variants, numbers chosen so every ratio is exact.
const samples: Record<string, Array<Record<string, number>>> = {
  bare: [{ wall_s: 1.0, cpu_s: 2 }, { wall_s: 0.8, cpu_s: 2 }, { wall_s: 1.2, cpu_s: 4 }],
  warm: [{ wall_s: 0.5, cpu_s: 1 }, { wall_s: 0.6, cpu_s: 1 }, { wall_s: 0.3, cpu_s: 1, ideal_s: 0.25 }],
};

describe('bench arithmetic', () => {
  it('a comparison is the ratio of the medians, with the per-repetition ratios as its range', () => {
    const c = compareOf(samples, { metric: 'wall_s', subject: 'warm', baseline: 'bare', target: { max: 0.6 } });
    expect(c.subject).toEqual({ min: 0.3, median: 0.5, max: 0.6, n: 3 });
    expect(c.baseline).toEqual({ min: 0.8, median: 1.0, max: 1.2, n: 3 });
    expect(c.ratio).toBeCloseTo(0.5, 12); // 0.5 / 1.0, not the median of the per-rep ratios (0.5, 0.75, 0.25)
    expect(c.min).toBeCloseTo(0.25, 12); // rep 3: 0.3 / 1.2
    expect(c.max).toBeCloseTo(0.75, 12); // rep 2: 0.6 / 0.8
    expect(c.verdict).toBe('pass');
    expect(compareOf(samples, { metric: 'cpu_s', subject: 'warm', baseline: 'bare', target: { max: 0.4 } }).verdict).toBe('FAIL');
  });

  it('a baseline metric of the same repetition can be the denominator; repetitions missing a side are left out', () => {
    const c = compareOf(samples, { metric: 'wall_s', subject: 'warm', baseline: 'warm', baselineMetric: 'ideal_s' });
    expect(c.baseline.n).toBe(1);
    expect(c.ratio).toBeCloseTo(0.5 / 0.25, 12);
    expect(c.min).toBeCloseTo(1.2, 12); // only rep 3 has both: 0.3 / 0.25
    expect(c.max).toBeCloseTo(1.2, 12);
    expect(c.verdict).toBe('n/a'); // no target
  });

  it('a missing metric or a zero baseline gives n/a, never a number', () => {
    const c = compareOf(samples, { metric: 'nope_s', subject: 'warm', baseline: 'bare', target: { max: 1 } });
    expect(c.ratio).toBeNaN();
    expect(c.verdict).toBe('n/a');
    expect(compareOf({ a: [{ x: 1 }], b: [{ x: 0 }] }, { metric: 'x', subject: 'a', baseline: 'b' }).ratio).toBeNaN();
  });

  it('targets are inclusive bounds on either side', () => {
    expect(meets(1.1, { max: 1.1 })).toBe('pass');
    expect(meets(1.1000001, { max: 1.1 })).toBe('FAIL');
    expect(meets(0.5, { min: 0.5 })).toBe('pass');
    expect(meets(0.49, { min: 0.5 })).toBe('FAIL');
    expect(meets(2, { min: 1, max: 3 })).toBe('pass');
    expect(meets(Number.NaN, { max: 1 })).toBe('n/a');
    expect(meets(1, undefined)).toBe('n/a');
    expect(checkOf(samples, { metric: 'cpu_s', variant: 'bare', target: { max: 2 } })).toMatchObject({ median: 2, verdict: 'pass' });
  });

  it('formats values with the unit named by the metric suffix', () => {
    expect(unitOf('wall_s')).toBe('s');
    expect(unitOf('events_per_s')).toBe('/s');
    expect(unitOf('peak_rss_mib')).toBe('MiB');
    expect(unitOf('round_trip_us')).toBe('µs');
    expect(unitOf('playbook_runs')).toBe('');
    expect(formatNumber(0.68123)).toBe('0.681');
    expect(formatNumber(12.345)).toBe('12.3');
    expect(formatNumber(8200.4)).toBe('8,200');
    expect(formatNumber(42600)).toBe('42,600');
    expect(formatNumber(Number.NaN)).toBe('n/a');
    expect(formatValue(1860.2, 'events_per_s')).toBe('1,860 /s');
    expect(formatValue(0, 'playbook_runs')).toBe('0');
    expect(formatTarget({ max: 1.1 })).toBe('<= 1.10');
    expect(formatTarget({ min: 0.5 })).toBe('>= 0.50');
    expect(formatTarget({ max: 256 }, 'peak_rss_mib')).toBe('<= 256 MiB');
    expect(formatTarget(undefined)).toBe('-');
    expect(formatRatio({ ratio: 1.0512, min: 0.99, max: 1.2 })).toBe('x1.05 (0.99 .. 1.20)');
  });

  it('the table has one line per comparison and check, and says why a row did not run', () => {
    const results: RowResult[] = [
      {
        id: 'runner-per-run', title: 'warm vs bare', variants: ['bare', 'warm'], status: 'ok', samples,
        compare: [{ metric: 'wall_s', subject: 'warm', baseline: 'bare', target: { max: 0.6 } }],
        checks: [{ metric: 'cpu_s', variant: 'warm', target: { max: 0.5 } }],
      },
      { id: 'codec', title: 'codec', variants: ['amh'], status: 'not run', reason: 'no build (run npm run build)', samples: {}, compare: [], checks: [] },
    ];
    const lines = summaryTable(results).split('\n');
    expect(lines).toHaveLength(2 + 3);
    expect(lines[2]).toBe('| runner-per-run | wall_s: warm / bare | warm 0.500 s (0.300 .. 0.600); bare 1 s (0.800 .. 1.20) | x0.50 (0.25 .. 0.75) | <= 0.60 | pass |');
    expect(lines[3]).toBe('| runner-per-run | cpu_s: warm | 1 s | - | <= 0.500 s | FAIL |');
    expect(lines[4]).toContain('| not run: no build (run npm run build) |');
    expect(tally(results)).toMatchObject({ pass: 1, FAIL: 1, 'not run': 1 });
    const md = renderReport(results, {
      command: 'npm run bench -- --quick', date: 'D', commit: 'C', cpus: 2, cpuModel: 'M', ramGiB: '8.0', platform: 'linux',
      loadBefore: '1', loadAfter: '2', node: 'v20', kafka: '4.1.1', ansible: '2.18', reps: 3, quick: true,
    });
    expect(md).toContain('Generated by `npm run bench -- --quick`');
    expect(md).toContain('| wall_s | 1 s (0.800 .. 1.20) | 0.500 s (0.300 .. 0.600) |');
  });
});

describe('bench runner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amh-bench-rows-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds rows, reports modules that cannot run, runs variants in order and always tears down', async () => {
    writeFileSync(join(dir, 'a.mjs'), `
      export const calls = [];
      let n = 0;
      export const rows = [
        { id: 'toy', title: 'toy', variants: ['x', 'y'],
          setup(ctx) { calls.push('setup:' + ctx.quick + ':' + ctx.reps); },
          measure(v) { calls.push(v); return { n_s: ++n, label: 'dropped' }; },
          teardown() { calls.push('teardown'); },
          compare: [{ metric: 'n_s', subject: 'y', baseline: 'x' }] },
        { id: 'fails', title: 'fails', variants: ['x'], measure() { throw new Error('kaput'); }, teardown() { calls.push('teardown2'); } },
        { id: 'unready', title: 'unready', variants: ['x'], setup() { throw new Error('no ansible-playbook'); }, measure() { return {}; } },
      ];`);
    writeFileSync(join(dir, 'b.mjs'), 'export const rows = [{ id: "Not_Kebab", variants: ["x"], measure() {} }];');
    writeFileSync(join(dir, 'c.mjs'), 'throw new Error("cannot load");');
    const rows = await discover(dir);
    expect(rows.map((r: { id: string }) => r.id)).toEqual(['toy', 'fails', 'unready', 'Not_Kebab', 'c']);
    expect(() => select(rows, ['nope'])).toThrow(/unknown row nope; known rows: toy, fails/);

    const opts = { quick: true, reps: 3, brokers: [], repo: dir, log: () => {} };
    const results = [];
    for (const row of rows) results.push(await runRow(row, opts));
    const { calls } = await import(join(dir, 'a.mjs'));
    expect(calls).toEqual(['setup:true:3', 'x', 'y', 'x', 'y', 'x', 'y', 'teardown', 'teardown2']);
    expect(results.map((r) => r.status)).toEqual(['ok', 'failed', 'not run', 'not run', 'not run']);
    expect(results[0]?.samples).toEqual({ x: [{ n_s: 1 }, { n_s: 3 }, { n_s: 5 }], y: [{ n_s: 2 }, { n_s: 4 }, { n_s: 6 }] });
    expect(results[1]?.reason).toBe('x, repetition 1: kaput');
    expect(results[2]?.reason).toBe('no ansible-playbook');
    expect(results[3]?.reason).toMatch(/id: expected kebab-case/);
    expect(results[4]?.reason).toMatch(/c.mjs does not load: cannot load/);
  });

  it('a measurement that never finishes fails its row after the timeout, and teardown still runs', async () => {
    let tornDown = false;
    const row = { id: 'hangs', title: 'hangs', variants: ['x'], measure: () => new Promise<Record<string, number>>(() => {}), teardown: () => { tornDown = true; } };
    const result = await runRow(row, { quick: true, reps: 3, brokers: [], repo: dir, log: () => {}, timeoutMs: 50 });
    expect(result.status).toBe('failed');
    expect(result.reason).toBe('x, repetition 1: measure(x) did not finish within 0.05 s');
    expect(tornDown).toBe(true);
  });
  it('warm-up repetitions run every variant first and are left out of the samples; a bad warmup is a shape problem', async () => {
    let n = 0;
    const seen: string[] = [];
    const row = { id: 'warm', title: 'warm', variants: ['x', 'y'], warmup: 2, measure: (v: string) => (seen.push(v), { n_s: ++n }) };
    const result = await runRow(row, { quick: true, reps: 3, brokers: [], repo: dir, log: () => {} });
    expect(seen).toEqual(['x', 'y', 'x', 'y', 'x', 'y', 'x', 'y', 'x', 'y']);
    expect(result.samples).toEqual({ x: [{ n_s: 5 }, { n_s: 7 }, { n_s: 9 }], y: [{ n_s: 6 }, { n_s: 8 }, { n_s: 10 }] });
    const failing = { id: 'cold', title: 'cold', variants: ['x'], warmup: 1, measure: () => { throw new Error('kaput'); } };
    expect((await runRow(failing, { quick: true, reps: 3, brokers: [], repo: dir, log: () => {} })).reason).toBe('x, warm-up 1: kaput');
    expect(rowProblems({ id: 'bad', variants: ['x'], warmup: -1, measure: () => ({}) })).toEqual(['warmup: expected a whole number of at least 0, got -1']);
  });
  it('a row with minReps gets at least that many repetitions, and with alternate its variants in reversed order every other one', async () => {
    expect(repsOf({}, 3)).toBe(3);
    expect(repsOf({ minReps: 5 }, 3)).toBe(5);
    expect(repsOf({ minReps: 2 }, 3)).toBe(3);
    expect(orderOf({ variants: ['x', 'y'] }, 1)).toEqual(['x', 'y']);
    expect(orderOf({ variants: ['x', 'y'], alternate: true }, -1)).toEqual(['y', 'x']);
    let n = 0;
    const seen: string[] = [];
    const row = { id: 'abba', title: 'abba', variants: ['x', 'y'], minReps: 4, alternate: true, warmup: 1, measure: (v: string) => (seen.push(v), { n_s: ++n }) };
    const result = await runRow(row, { quick: true, reps: 3, brokers: [], repo: dir, log: () => {} });
    // The warm-up is repetition -1 (reversed), then 0..3.
    expect(seen).toEqual(['y', 'x', 'x', 'y', 'y', 'x', 'x', 'y', 'y', 'x']);
    expect(result.samples).toEqual({ x: [{ n_s: 3 }, { n_s: 6 }, { n_s: 7 }, { n_s: 10 }], y: [{ n_s: 4 }, { n_s: 5 }, { n_s: 8 }, { n_s: 9 }] });
    expect(repetitionsNote(result, 3)).toBe("4 repetitions, the variants' order reversed in every other one.");
    expect(repetitionsNote({ ...result, alternate: false }, 4)).toBe('');
    expect(rowProblems({ id: 'bad', variants: ['x'], minReps: 0, alternate: 'yes', measure: () => ({}) })).toEqual([
      'minReps: expected a whole number of at least 1, got 0',
      'alternate: expected true or false, got "yes"',
    ]);
  });
});

describe("the README's table of benchmark rows", () => {
  it('names every row bench/rows defines, and no other', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Benchmarks'), readme.indexOf('**Reading BENCHMARKS.md.**'));
    const documented = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]).sort();
    const rows = (await discover(join(__dirname, '..', '..', 'bench', 'rows'))).map((r) => r.id).sort();
    expect(rows.length).toBeGreaterThan(0);
    expect(documented).toEqual(rows);
  });
});
