import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareDrains, parseArgs } from '../../bench/compare-builds.mjs';

describe('bench/compare-builds', () => {
  it('medians per build and the after/before ratio of each pair, on fixed drains', () => {
    const before = [{ events_per_s: 2000, cpu_us_per_event: 560 }, { events_per_s: 1800, cpu_us_per_event: 620 }, { events_per_s: 2100, cpu_us_per_event: 540 }];
    const after = [{ events_per_s: 2600, cpu_us_per_event: 480 }, { events_per_s: 1800, cpu_us_per_event: 600 }, { events_per_s: 2520, cpu_us_per_event: 500 }];
    const c = compareDrains(before, after);
    expect(c.before).toEqual({ events_per_s: 2000, cpu_us_per_event: 560 });
    expect(c.after).toEqual({ events_per_s: 2520, cpu_us_per_event: 500 });
    expect(c.pairs).toEqual([1.3, 1, 1.2]);
    expect(c.pairMedian).toBe(1.2);
  });

  it('takes two builds and whole numbers, and says what is wrong otherwise', () => {
    expect(parseArgs(['--builds', 'a,b', '--reps', '3', '--warmup', '0'])).toEqual({ builds: [resolve('a'), resolve('b')], reps: 3, warmup: 0, events: 5000 });
    expect(() => parseArgs(['--builds', 'a'])).toThrow(/--builds: expected two directories/);
    expect(() => parseArgs(['--builds', 'a,b', '--reps', '0'])).toThrow(/--reps: expected a whole number of at least 1, got 0/);
    expect(() => parseArgs(['--builds', 'a,b', '--events', '1000'])).toThrow(/--events: the row's backlog is 5000 \(quick\) or 20000/);
    expect(() => parseArgs(['--nope', 'x'])).toThrow(/unknown option --nope/);
  });
});
