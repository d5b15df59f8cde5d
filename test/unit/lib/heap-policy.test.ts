import { describe, expect, it } from 'vitest';
import { applyHeapPolicy } from '../../../src/lib/heap-policy.js';

describe('applyHeapPolicy', () => {
  it('says what it set, and which semi-space bound the process was started with', () => {
    expect(applyHeapPolicy(20, ['--expose-gc', '--max-semi-space-size=4'])).toEqual({ heapGrowingPercent: 20, maxSemiSpaceMiB: 4 });
    expect(applyHeapPolicy(35, [])).toEqual({ heapGrowingPercent: 35, maxSemiSpaceMiB: null });
  });

  it('leaves V8 its own heuristics at 0', () => {
    expect(applyHeapPolicy(0, ['--max-semi-space-size=8'])).toEqual({ heapGrowingPercent: null, maxSemiSpaceMiB: 8 });
  });
});
