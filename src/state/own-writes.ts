import type { SliverLedger } from '../codec/types.js';

/**
 * Records this process wrote to the partitions it follows and its reader has
 * not applied yet, by partition and offset: the reader takes them as written
 * instead of decoding its own bytes again. Bounded by the writes waiting to be
 * read back: an entry goes when the reader passes its offset, or with its
 * partition.
 */
export class OwnWrites {
  private readonly byPartition = new Map<number, Map<string, SliverLedger>>();

  /** `record` was written at `offset`; kept only when the reader (now at `position`) has yet to reach it. */
  remember(partition: number, offset: bigint, position: bigint, record: SliverLedger): void {
    if (offset < position) return;
    let mine = this.byPartition.get(partition);
    if (!mine) this.byPartition.set(partition, (mine = new Map()));
    mine.set(offset.toString(), record);
  }

  /** The lookup for one fetched batch of `partition`, or undefined when nothing of it is remembered. */
  lookup(partition: number): ((offset: string) => SliverLedger | undefined) | undefined {
    const mine = this.byPartition.get(partition);
    return mine ? (offset) => mine.get(offset) : undefined;
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
    for (let offset = from; offset < to; offset++) if (!mine.has(offset.toString())) return false;
    return true;
  }

  /** The reader applied `offsets` and is now at `next`: what it passed is forgotten. */
  applied(partition: number, offsets: Iterable<string>, next: bigint): void {
    const mine = this.byPartition.get(partition);
    if (!mine) return;
    for (const offset of offsets) mine.delete(offset);
    for (const offset of mine.keys()) if (BigInt(offset) < next) mine.delete(offset);
    if (mine.size === 0) this.byPartition.delete(partition);
  }

  /** The partition is no longer followed. */
  drop(partition: number): void {
    this.byPartition.delete(partition);
  }
}
