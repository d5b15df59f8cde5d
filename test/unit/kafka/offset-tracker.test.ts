import { describe, expect, it } from 'vitest';
import { OffsetTracker } from '../../../src/kafka/offset-tracker.js';

describe('OffsetTracker', () => {
  it('commits only up to the lowest offset still in flight', () => {
    const t = new OffsetTracker();
    for (const o of [10n, 11n, 12n]) t.begin('ev', 0, o);
    expect(t.complete('ev', 0, 12n)).toBeNull(); // 10 and 11 still running
    expect(t.complete('ev', 0, 11n)).toBeNull();
    expect(t.complete('ev', 0, 10n)).toBe(13n); // all done: next offset to read
  });

  it('advances step by step and never moves backwards', () => {
    const t = new OffsetTracker();
    t.begin('ev', 0, 0n);
    t.begin('ev', 0, 1n);
    expect(t.complete('ev', 0, 0n)).toBe(1n);
    t.begin('ev', 0, 2n);
    expect(t.complete('ev', 0, 2n)).toBeNull(); // 1 still in flight: committable stays 1
    expect(t.complete('ev', 0, 1n)).toBe(3n);
    expect(t.complete('ev', 0, 1n)).toBeNull(); // duplicate completion changes nothing
  });

  it('keeps partitions apart', () => {
    const t = new OffsetTracker();
    t.begin('ev', 0, 5n);
    t.begin('ev', 1, 7n);
    expect(t.complete('ev', 1, 7n)).toBe(8n);
    expect(t.inFlight('ev', 0)).toBe(1);
    expect(t.inFlight('ev', 1)).toBe(0);
    expect(t.complete('ev', 0, 5n)).toBe(6n);
  });
});

describe('OffsetTracker.uncommitted', () => {
  it('counts offsets taken in past the committable one: in flight, or done behind one that is', () => {
    const t = new OffsetTracker();
    expect(t.uncommitted('t', 0)).toBe(0);
    for (const o of [10n, 11n, 12n]) t.begin('t', 0, o);
    expect(t.uncommitted('t', 0)).toBe(3);
    t.complete('t', 0, 11n); // done, but behind 10
    expect(t.uncommitted('t', 0)).toBe(3);
    t.complete('t', 0, 10n); // 10 and 11 committable
    expect(t.uncommitted('t', 0)).toBe(1);
    t.complete('t', 0, 12n);
    expect(t.uncommitted('t', 0)).toBe(0);
  });
});
