/** What one rebalance changed for this instance. */
export interface AssignmentChange {
  added: number[];
  revoked: number[];
  /** Kept, but in a new ownership period: the group membership was renewed (see `assign`). */
  renewed: number[];
}

/**
 * The partitions of one topic this instance owns, from each group join's
 * member assignment. Each partition gets a fresh AbortSignal per ownership
 * period: it aborts the moment the partition is revoked, so work queued for
 * it starts nothing new and its offsets are never committed by us again.
 */
export class PartitionOwnership {
  /** Per owned partition: its ownership (aborts when the partition leaves us) and its commit period (also on a renewal). */
  private readonly owned = new Map<number, { ownership: AbortController; commits: AbortController }>();
  private known = false;

  /** Whether the assignment is known yet (the first join happened). */
  get joined(): boolean {
    return this.known;
  }

  owns(partition: number): boolean {
    return this.owned.has(partition);
  }

  partitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /** Aborted when this ownership period of `partition` ends (it was revoked). Undefined when the partition is not ours. */
  signal(partition: number): AbortSignal | undefined {
    return this.owned.get(partition)?.ownership.signal;
  }

  /**
   * Aborted when offsets earned now may no longer be committed: the partition
   * was revoked, or the group membership was renewed (see `assign`).
   */
  commitPeriod(partition: number): AbortSignal | undefined {
    return this.owned.get(partition)?.commits.signal;
  }

  /**
   * A join's assignment: partitions not in it are revoked, new ones added.
   * With `renew` (this is a new group member: kafkajs restarted a crashed
   * consumer, or the coordinator forgot us), every partition kept starts a
   * new commit period: the old member's commits may have been dropped
   * (kafkajs drops commits while it restarts) and another member may have
   * owned the partition in between, so offsets are committed again only from
   * the redelivery, which starts at the group's committed offset. Work of the
   * old period goes on (the partition is still ours): it answers, and its
   * redelivered copy, behind it in the sliver's lane, re-publishes that
   * answer from the ledger and commits it.
   */
  assign(partitions: readonly number[], { renew = false } = {}): AssignmentChange {
    this.known = true;
    const next = new Set(partitions);
    const revoked = [...this.owned.keys()].filter((p) => !next.has(p));
    const added = [...next].filter((p) => !this.owned.has(p));
    const renewed = renew ? [...next].filter((p) => this.owned.has(p)) : [];
    for (const p of revoked) this.revoke(p, new PartitionRevokedError(p));
    for (const p of renewed) {
      const held = this.owned.get(p);
      held?.commits.abort(new PartitionRevokedError(p, 'the group membership was renewed (the consumer rejoined as a new member)'));
      if (held) held.commits = new AbortController();
    }
    for (const p of added) this.owned.set(p, { ownership: new AbortController(), commits: new AbortController() });
    const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
    return { added: sorted(added), revoked: sorted(revoked), renewed: sorted(renewed) };
  }

  /** Every partition is lost (the consumer left the group or crashed). */
  revokeAll(): number[] {
    const all = this.partitions();
    for (const p of all) this.revoke(p, new PartitionRevokedError(p));
    return all;
  }

  private revoke(partition: number, reason: Error): void {
    const held = this.owned.get(partition);
    held?.commits.abort(reason);
    held?.ownership.abort(reason);
    this.owned.delete(partition);
  }
}

import { AmhError } from '../errors/index.js';

/** The reason on a revoked partition's signal. */
export class PartitionRevokedError extends AmhError {
  override readonly code = 'PARTITION_REVOKED';
  constructor(
    readonly partition: number,
    why = 'a rebalance gave it to another instance',
  ) {
    super(`partition ${partition} was revoked (${why})`);
  }
}
