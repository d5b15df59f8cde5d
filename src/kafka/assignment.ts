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
  private readonly owned = new Map<number, AbortController>();
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

  /** Aborted when this ownership period of `partition` ends. Undefined when the partition is not ours. */
  signal(partition: number): AbortSignal | undefined {
    return this.owned.get(partition)?.signal;
  }

  /**
   * A join's assignment: partitions not in it are revoked, new ones added.
   * With `renew` (this is a new group member: kafkajs restarted a crashed
   * consumer, or the coordinator forgot us), every partition kept starts a
   * new ownership period too: the old member's commits may have been dropped
   * and another member may have owned the partition in between, so what it
   * earned is redone from the group's committed offset instead.
   */
  assign(partitions: readonly number[], { renew = false } = {}): AssignmentChange {
    this.known = true;
    const next = new Set(partitions);
    const revoked = [...this.owned.keys()].filter((p) => !next.has(p));
    const added = [...next].filter((p) => !this.owned.has(p));
    const renewed = renew ? [...next].filter((p) => this.owned.has(p)) : [];
    for (const p of revoked) this.revoke(p, new PartitionRevokedError(p));
    for (const p of renewed) this.revoke(p, new PartitionRevokedError(p, 'the group membership was renewed (the consumer rejoined as a new member)'));
    for (const p of [...added, ...renewed]) this.owned.set(p, new AbortController());
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
    this.owned.get(partition)?.abort(reason);
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
