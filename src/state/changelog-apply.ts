import type { AvroCodec } from '../codec/codec.js';
import type { SliverLedger } from '../codec/types.js';
import { errorMessage } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import { rememberEncoded } from './encoded.js';
import { sameWrite, supersedes, type WriteStamp } from './ledger.js';

/**
 * How a batch of state-topic (changelog) records becomes changes to the
 * local ledgers: one function, used by the service's own reader
 * (PartitionedLedgerStore) and by the bulk restore child (restore-child.ts),
 * so both apply records by the same rules.
 */

/** One record of the state topic, as kafkajs hands it over. */
export interface ChangelogRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** A record that lost to the ledger already held (a superseded writer's), found while applying. */
export interface LedgerConflict {
  sliverId: string;
  /** The write held (it stays). */
  known: WriteStamp;
  /** The write read from the topic and ignored. */
  ignored: WriteStamp;
  offset: string;
}

export interface AppliedChanges {
  /** The ledgers to write (null: delete, a tombstone), in one transaction with the checkpoint `next`. */
  changes: Map<string, SliverLedger | null>;
  /** Next offset to read: one past the last record applied (`from` when nothing was). */
  next: bigint;
  /** Records at or after `from` (tombstones and unreadable ones included). */
  applied: number;
  conflicts: LedgerConflict[];
}

export interface ApplyContext {
  codec: Pick<AvroCodec, 'decode'>;
  /** The write stamp held locally for a sliver (before this batch). */
  head: (sliverId: string) => WriteStamp | undefined;
  logger: Logger;
  topic: string;
  partition: number;
  /**
   * The record this process itself wrote at an offset, when it still knows it (its own writes, read back):
   * used as it is instead of decoding the same bytes again.
   */
  written?: (offset: string) => SliverLedger | undefined;
}

/**
 * Applies `records` from offset `from` on (records before it are skipped:
 * a batch can start before where the restore stands). A record replaces the
 * ledger held when its (epoch, version) is higher; a tombstone deletes it;
 * an unreadable record is logged and skipped; a lower record of another
 * write is a conflict (the caller logs it, and re-asserts it when the held
 * write is its own), except one of this process's own records (`written`)
 * found below its own newer write, which counted before the reader got
 * here. Nothing is written here: the caller writes `changes` with the
 * checkpoint `next`, in one transaction.
 */
export async function applyChangelog(records: readonly ChangelogRecord[], from: bigint, ctx: ApplyContext): Promise<AppliedChanges> {
  const changes = new Map<string, SliverLedger | null>();
  const conflicts: LedgerConflict[] = [];
  const current = (id: string): WriteStamp | undefined => (changes.has(id) ? (changes.get(id) ?? undefined) : ctx.head(id));
  let next = from;
  let applied = 0;
  for (const message of records) {
    const offset = BigInt(message.offset);
    if (offset < from) continue;
    next = offset + 1n;
    applied++;
    const id = message.key?.toString('utf8');
    if (!id) continue;
    if (!message.value) {
      changes.set(id, null); // tombstone: the sliver's ledger is gone
      continue;
    }
    let record: SliverLedger;
    const own = ctx.written?.(message.offset);
    const isOwn = own !== undefined && own.sliver_id === id;
    if (isOwn) record = own;
    else {
      try {
        const decoded = await ctx.codec.decode('state', message.value);
        record = decoded.value;
        if (decoded.writer.format === 'single-object') rememberEncoded(record, message.value);
      } catch (err) {
        ctx.logger.error({ err, topic: ctx.topic, partition: ctx.partition, offset: message.offset }, `unreadable ledger record skipped: ${errorMessage(err)}`);
        continue;
      }
    }
    const known = current(id);
    if (supersedes(record, known)) changes.set(id, record);
    // One of our own records older than our own write held: that write counted before the reader got here, and
    // came later in the log (one sliver's writes go one at a time), so it is the last record, as it must be.
    else if (isOwn && known?.writer === record.writer) continue;
    else if (known && !sameWrite(known, record)) {
      conflicts.push({ sliverId: id, known: stamp(known), ignored: stamp(record), offset: message.offset });
    }
  }
  return { changes, next, applied, conflicts };
}

function stamp(w: WriteStamp): WriteStamp {
  return { writer: w.writer, epoch: w.epoch, version: w.version };
}
