import { describe, expect, it } from 'vitest';
import { median, summarize } from '../../bench/stats.mjs';

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
});
