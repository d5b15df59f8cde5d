/**
 * Which offsets may be committed, per topic-partition, when messages of one
 * partition finish out of order. The committable offset is the lowest offset
 * still in flight (everything before it is done), or one past the highest
 * offset seen when nothing is in flight. It never moves backwards.
 */
export class OffsetTracker {
  private readonly partitions = new Map<string, PartitionState>();

  /** Record that `offset` was handed to the work queue. */
  begin(topic: string, partition: number, offset: bigint): void {
    const state = this.state(topic, partition);
    state.inFlight.add(offset);
    if (state.highest === null || offset > state.highest) state.highest = offset;
    // The group was positioned at the first offset we saw: committing it again would be a no-op.
    state.committed ??= offset;
  }

  /**
   * Record that `offset` is done (its result is published). Returns the new
   * offset to commit if it advanced, else null.
   */
  complete(topic: string, partition: number, offset: bigint): bigint | null {
    const state = this.state(topic, partition);
    state.inFlight.delete(offset);
    const next = this.committable(state);
    if (next === null || (state.committed !== null && next <= state.committed)) return null;
    state.committed = next;
    return next;
  }

  /** Whether `offset` was handed over and is not done yet (a redelivery after a rejoin must not run it twice). */
  has(topic: string, partition: number, offset: bigint): boolean {
    return this.partitions.get(key(topic, partition))?.inFlight.has(offset) ?? false;
  }

  /** The partition was revoked: forget it; if it comes back, tracking starts again at the offset the group resumes from. */
  forget(topic: string, partition: number): void {
    this.partitions.delete(key(topic, partition));
  }

  /** Offsets taken in past the last committable offset: in flight, or done behind one that is (metrics). */
  uncommitted(topic: string, partition: number): number {
    const state = this.partitions.get(key(topic, partition));
    if (!state || state.highest === null || state.committed === null) return 0;
    return Math.max(0, Number(state.highest + 1n - state.committed));
  }

  /** Offsets still in flight on a partition (for metrics and shutdown). */
  inFlight(topic: string, partition: number): number {
    return this.partitions.get(key(topic, partition))?.inFlight.size ?? 0;
  }

  private committable(state: PartitionState): bigint | null {
    if (state.highest === null) return null;
    let lowest: bigint | null = null;
    for (const o of state.inFlight) if (lowest === null || o < lowest) lowest = o;
    return lowest ?? state.highest + 1n;
  }

  private state(topic: string, partition: number): PartitionState {
    const k = key(topic, partition);
    let state = this.partitions.get(k);
    if (!state) {
      state = { inFlight: new Set(), highest: null, committed: null };
      this.partitions.set(k, state);
    }
    return state;
  }
}

interface PartitionState {
  inFlight: Set<bigint>;
  highest: bigint | null;
  committed: bigint | null;
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
