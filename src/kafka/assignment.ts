/** What one rebalance changed for this instance. */
export interface AssignmentChange {
  added: number[];
  revoked: number[];
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

  /** A join's assignment: partitions not in it are revoked, new ones added. */
  assign(partitions: readonly number[]): AssignmentChange {
    this.known = true;
    const next = new Set(partitions);
    const revoked = [...this.owned.keys()].filter((p) => !next.has(p));
    const added = [...next].filter((p) => !this.owned.has(p));
    for (const p of revoked) this.revoke(p, new PartitionRevokedError(p));
    for (const p of added) this.owned.set(p, new AbortController());
    return { added: added.sort((a, b) => a - b), revoked: revoked.sort((a, b) => a - b) };
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
  constructor(readonly partition: number) {
    super(`partition ${partition} was revoked (a rebalance gave it to another instance)`);

  }
}
