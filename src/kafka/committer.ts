import type { Consumer } from 'kafkajs';
import type { Logger } from '../observability/logger.js';

/**
 * Serialises offset commits: requests are coalesced per partition (the
 * newest wins) and sent one batch at a time, so a commit never overtakes a
 * newer one on the wire. A failed commit is retried with the next batch.
 */
export class Committer {
  private readonly wanted = new Map<string, { topic: string; partition: number; offset: bigint }>();
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly consumer: Pick<Consumer, 'commitOffsets'>,
    private readonly logger: Logger,
    /** Told about every batch the broker accepted. */
    private readonly onCommitted: (offsets: readonly { topic: string; partition: number; offset: bigint }[]) => void = () => {},
  ) {}

  /** Ask for `offset` (the next offset to read) to be committed on a partition. */
  commit(topic: string, partition: number, offset: bigint): Promise<void> {
    const k = `${topic}\u0000${partition}`;
    const prev = this.wanted.get(k);
    if (!prev || prev.offset < offset) this.wanted.set(k, { topic, partition, offset });
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Wait until everything asked for so far has been sent. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async drain(): Promise<void> {
    let failures = 0;
    while (this.wanted.size > 0) {
      const batch = [...this.wanted.values()];
      this.wanted.clear();
      try {
        await this.consumer.commitOffsets(batch.map((b) => ({ topic: b.topic, partition: b.partition, offset: b.offset.toString() })));
        this.logger.debug({ offsets: batch.map((b) => `${b.topic}/${b.partition}@${b.offset}`) }, 'committed');
        this.onCommitted(batch);
        failures = 0;
      } catch (err) {
        failures++;
        this.logger.warn({ err, attempt: failures }, 'offset commit failed; will retry');
        for (const b of batch) {
          const k = `${b.topic}\u0000${b.partition}`;
          const newer = this.wanted.get(k);
          if (!newer || newer.offset < b.offset) this.wanted.set(k, b);
        }
        // After a rebalance the partition may be gone; give up after a few tries, the new owner re-reads from the last commit.
        if (failures >= 5) {
          this.wanted.clear();
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * 2 ** failures));
      }
    }
  }
}
