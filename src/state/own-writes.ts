import type { SliverLedger } from '../codec/types.js';

/**
 * Records this process wrote to the partitions it follows and its reader has
 * not applied yet, by partition and offset: the reader takes them as written
 * instead of decoding its own bytes again. Bounded by the writes waiting to be
 * read back: an entry goes when the reader passes its offset, or with its
 * partition.
 */
export class OwnWrites {
  /**
   * By partition, then by offset as a number (exact below 2^53, which no partition's offsets reach): the
   * write path asks `covers` for every offset between the reader and its record, and BigInt-to-string keys
   * made that loop one of the pipeline's costlier lines.
   */
  private readonly byPartition = new Map<number, Map<number, SliverLedger>>();

  /** `record` was written at `offset`; kept only when the reader (now at `position`) has yet to reach it. */
  remember(partition: number, offset: bigint, position: bigint, record: SliverLedger): void {
    if (offset < position) return;
    let mine = this.byPartition.get(partition);
    if (!mine) this.byPartition.set(partition, (mine = new Map()));
    mine.set(Number(offset), record);
  }

  /** The lookup for one fetched batch of `partition`, or undefined when nothing of it is remembered. */
  lookup(partition: number): ((offset: string) => SliverLedger | undefined) | undefined {
    const mine = this.byPartition.get(partition);
    return mine ? (offset) => mine.get(Number(offset)) : undefined;
  }

  /**
   * Whether every offset in [`from`, `to`) of `partition` is one of these records: then nothing but this
   * process's own records, known as written, stands between the reader (at `from`) and a record at `to`,
   * and that record's fate is known before the reader gets there. False for a gap of more than `maxGap`.
   */
  covers(partition: number, from: bigint, to: bigint, maxGap = 1024): boolean {
    if (to <= from) return true;
    if (to - from > BigInt(maxGap)) return false;
    const mine = this.byPartition.get(partition);
    if (!mine || BigInt(mine.size) < to - from) return false;
    for (let offset = Number(from), end = Number(to); offset < end; offset++) if (!mine.has(offset)) return false;
    return true;
  }

  /** The reader applied `offsets` and is now at `next`: what it passed is forgotten. */
  applied(partition: number, offsets: Iterable<string>, next: bigint): void {
    const mine = this.byPartition.get(partition);
    if (!mine) return;
    for (const offset of offsets) mine.delete(Number(offset));
    const below = Number(next);
    for (const offset of mine.keys()) if (offset < below) mine.delete(offset);
    if (mine.size === 0) this.byPartition.delete(partition);
  }

  /** The partition is no longer followed. */
  drop(partition: number): void {
    this.byPartition.delete(partition);
  }
}
