import { describe, expect, it } from 'vitest';
import { bootstrapRatio, mib, median, percentile, ratio, seededRandom, summarize, verdict } from '../../bench/stats.mjs';

describe('benchmark summaries', () => {
  it('median: the middle value, or the mean of the middle two, whatever the input order', () => {
    expect(median([36.2])).toBe(36.2);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('summarize: min, median and max without reordering the input', () => {
    const values = [37, 35, 41];
    expect(summarize(values)).toEqual({ min: 35, median: 37, max: 41 });
    expect(values).toEqual([37, 35, 41]);
    expect(summarize([]).median).toBeNaN();
  });

  it('percentile: nearest rank, so p99 of 1..100 is 99 and p50 of 1..10 is 5', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // descending: the input is not assumed sorted
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 1)).toBe(1);
    expect(percentile([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 50)).toBe(5);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(hundred[0]).toBe(100); // not reordered
  });

  it('percentile: one slow outlier in 100 is the max, not the p99', () => {
    const values = [...Array.from({ length: 99 }, () => 0.01), 50];
    expect(percentile(values, 99)).toBe(0.01);
    expect(percentile(values, 100)).toBe(50);
  });

  it('percentile: reads a sorted typed array as given, and rejects p outside (0, 100]', () => {
    const sorted = Float64Array.from([1, 2, 3, 4]);
    expect(percentile(sorted, 50, { sorted: true })).toBe(2);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('ratio, mib and verdict: what the tables print, n/a for a missing side', () => {
    expect(ratio(1150, 115)).toBe('x10.00');
    expect(ratio(3, 2, 1)).toBe('x1.5');
    expect(ratio(1, 0)).toBe('n/a');
    expect(ratio(Number.NaN, 2)).toBe('n/a');
    expect(mib(1_150 * 1024 * 1024)).toBe('1150.0');
    expect(mib(512 * 1024)).toBe('0.5');
    expect(mib(Number.NaN)).toBe('n/a');
    expect(verdict(255.9, 256)).toBe('pass');
    expect(verdict(256, 256)).toBe('FAIL');
    expect(verdict(Number.NaN, 256)).toBe('n/a');
  });
  it('seededRandom: the same seed repeats its numbers, all in [0, 1)', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(990);
    expect(seededRandom(8)()).not.toBe(seededRandom(7)());
  });

  it('bootstrapRatio: the ratio of medians, with an interval around it that narrows with more data', () => {
    const small = bootstrapRatio([9, 10, 11], [10, 10, 10]);
    expect(small.ratio).toBe(1);
    expect(small.lo).toBeCloseTo(0.9);
    expect(small.hi).toBeCloseTo(1.1);
    // 1.1 times the same spread: the ratio is 1.1, and with 200 values a side the interval excludes 1.
    const base = Array.from({ length: 200 }, (_, i) => 100 + (i % 20));
    const slower = base.map((x) => x * 1.1);
    const r = bootstrapRatio(slower, base);
    expect(r.ratio).toBeCloseTo(1.1);
    expect(r.lo).toBeGreaterThan(1.05);
    expect(r.hi).toBeLessThan(1.15);
    expect(r.lo).toBeLessThanOrEqual(r.ratio);
    expect(r.hi).toBeGreaterThanOrEqual(r.ratio);
    // Seeded: the same inputs give the same interval.
    expect(bootstrapRatio(slower, base)).toEqual(r);
    expect(bootstrapRatio([], base).ratio).toBeNaN();
  });
});
