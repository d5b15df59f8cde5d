/**
 * Pure: when, within one pass starting at `start`, the `index`-th of `count`
 * slivers is probed: the pass (`intervalMs`) cut into `count` equal parts, each
 * sliver in the middle of its own, so every sliver is probed once per
 * interval and the probes never bunch up at the start of a pass.
 */
export function probeTime(start: number, index: number, count: number, intervalMs: number): number {
  return start + ((index + 0.5) * intervalMs) / Math.max(1, count);
}

/** At most `share` of `concurrency` slots for probes, and at least one. */
export function probeSlots(concurrency: number, share: number): number {
  return Math.max(1, Math.floor(concurrency * share));
}
