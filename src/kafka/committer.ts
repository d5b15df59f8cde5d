import type { Consumer } from 'kafkajs';
import type { Logger } from '../observability/logger.js';

export interface CommitRequest {
  topic: string;
  partition: number;
  offset: bigint;
  /** The ownership period the offset was earned in: once it ends, the request is dropped. */
  period?: AbortSignal;
}

/**
 * Serialises offset commits: requests are coalesced per partition (the
 * newest wins) and sent one batch at a time, so a commit never overtakes a
 * newer one on the wire. Only partitions this instance owns when the batch
 * is sent, and only within the ownership period the offset was earned in
 * (kafkajs does not check: a commit for a partition a rebalance moved away
 * would move the new owner's offset backwards). A failed commit is retried
 * with backoff for as long as that period lasts.
 */
export class Committer {
  private readonly wanted = new Map<string, CommitRequest>();
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly consumer: Pick<Consumer, 'commitOffsets'>,
    private readonly logger: Logger,
    private readonly owns: (topic: string, partition: number) => boolean,
    /** Told about every batch the broker accepted. */
    private readonly onCommitted: (offsets: readonly CommitRequest[]) => void = () => {},
  ) {}

  /** Ask for `offset` (the next offset to read) to be committed on a partition. */
  commit(topic: string, partition: number, offset: bigint, period?: AbortSignal): Promise<void> {
    const k = `${topic}\u0000${partition}`;
    const prev = this.wanted.get(k);
    if (!prev || prev.period?.aborted || prev.offset < offset) this.wanted.set(k, { topic, partition, offset, ...(period ? { period } : {}) });
    return this.kick();
  }

  /** Wait until everything asked for so far has been sent (or `timeoutMs` passed). */
  async flush(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.flushing) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.flushing, new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    return true;
  }

  private kick(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
      // A request that arrived after the last batch was taken and before this ran must not be stranded.
      if (this.wanted.size > 0) void this.kick();
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    let failures = 0;
    while (this.wanted.size > 0) {
      const batch = [...this.wanted.values()].filter((b) => this.current(b));
      this.wanted.clear();
      if (batch.length === 0) return;
      try {
        await this.consumer.commitOffsets(batch.map((b) => ({ topic: b.topic, partition: b.partition, offset: b.offset.toString() })));
        this.logger.debug({ offsets: batch.map((b) => `${b.topic}/${b.partition}@${b.offset}`) }, 'committed');
        this.onCommitted(batch);
        failures = 0;
      } catch (err) {
        failures++;
        this.logger.warn({ err, attempt: failures }, 'offset commit failed; will retry while the partitions are ours');
        for (const b of batch) {
          const k = `${b.topic}\u0000${b.partition}`;
          const newer = this.wanted.get(k);
          if (this.current(b) && (!newer || newer.offset < b.offset)) this.wanted.set(k, b);
        }
        await new Promise((r) => setTimeout(r, Math.min(10_000, 200 * 2 ** Math.min(failures, 6))));
      }
    }
  }

  private current(request: CommitRequest): boolean {
    return !request.period?.aborted && this.owns(request.topic, request.partition);
  }
}
