/**
 * When each orphan was first seen, in memory: an orphan is repaired only once it has been seen for the
 * grace period. An orphan missing from a pass is forgotten (it went away, or its partition moved to another
 * instance), and a restart forgets them all: after a restart or a rebalance the grace period starts again,
 * so a repair can come later than the grace, never sooner.
 */
export class FirstSeen {
  private since = new Map<string, number>();

  /** Records a pass's orphans (by identity): returns when each was first seen; others are forgotten. */
  observe(keys: readonly string[], now: number): Map<string, number> {
    const next = new Map<string, number>();
    for (const key of keys) next.set(key, this.since.get(key) ?? now);
    this.since = next;
    return new Map(next);
  }

  get size(): number {
    return this.since.size;
  }
}
