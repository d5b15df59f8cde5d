import type { Consumer } from 'kafkajs';
import { Committer, type CommitRequest } from '../kafka/committer.js';
import { OffsetTracker } from '../kafka/offset-tracker.js';
import type { PartitionOwnership } from '../kafka/assignment.js';
import type { Logger } from '../observability/logger.js';

/**
 * Step 6: commit. A partition's committed offset advances to the lowest
 * offset still in flight, only after the messages below it met their fate
 * (answered or dead-lettered), and only while the partition is ours.
 */
export class PartitionCommits {
  private readonly tracker = new OffsetTracker();
  private readonly committer: Committer;

  constructor(
    consumer: Pick<Consumer, 'commitOffsets'>,
    private readonly topic: string,
    ownership: PartitionOwnership,
    logger: Logger,
    onCommitted: (offsets: readonly CommitRequest[]) => void,
  ) {
    this.committer = new Committer(consumer, logger, (t, p) => t === topic && ownership.owns(p), onCommitted);
  }

  /** False when the offset is already in flight here (kafkajs redelivers from the committed offset after a rejoin). */
  begin(partition: number, offset: bigint): boolean {
    if (this.tracker.has(this.topic, partition, offset)) return false;
    this.tracker.begin(this.topic, partition, offset);
    return true;
  }

  /** The message met its fate: commit what became committable, if the partition is still in the same ownership period. */
  done(partition: number, offset: bigint, period: AbortSignal): void {
    if (period.aborted) return;
    const next = this.tracker.complete(this.topic, partition, offset);
    if (next !== null) void this.committer.commit(this.topic, partition, next, period);
  }

  revoked(partition: number): void {
    this.tracker.forget(this.topic, partition);
  }

  /** Offsets taken in past the last commit (metrics, status page). */
  uncommitted(partition: number): number {
    return this.tracker.uncommitted(this.topic, partition);
  }

  inFlight(partition: number): number {
    return this.tracker.inFlight(this.topic, partition);
  }

  flush(timeoutMs?: number): Promise<boolean> {
    return this.committer.flush(timeoutMs);
  }
}
