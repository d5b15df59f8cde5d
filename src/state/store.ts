import type { SliverLedger } from '../codec/types.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import { supersedes } from './ledger.js';

/** What a write did: `won` is false when another writer's record (a higher epoch, or the same version read first) holds instead. */
export interface WriteOutcome {
  won: boolean;
  /** The sliver's ledger as every reader now holds it. */
  current: SliverLedger | undefined;
}

/**
 * Computes the next record from the current one (as read back from the
 * log), or returns null to write nothing (e.g. the caller's lease is gone).
 */
export type LedgerUpdate = (current: SliverLedger | undefined) => SliverLedger | null;

export interface UpdateOptions {
  confirm?: 'read-back' | 'ack';
}

/**
 * Durable per-sliver ledgers. The Kafka implementation keeps them on a
 * compacted topic keyed by sliver id; tests use an in-memory one.
 *
 * Memory only ever holds what was read back: an update is produced,
 * acknowledged, and read back before it is visible, so a failed write
 * changes nothing and every instance converges on the same record.
 */
export interface LedgerStore {
  start(): Promise<void>;
  /** Resolves once every record written before the call has been read back. */
  catchUp(): Promise<void>;
  get(sliverId: string): SliverLedger | undefined;
  /**
   * Serialised per sliver: `next` sees the result of every earlier update of the same sliver.
   * `confirm: 'read-back'` (the default) resolves once the record is read back from the log, so racing writers
   * learn who won; `'ack'` applies it as soon as the broker acknowledged it, for writes under a lease the caller
   * holds (a higher epoch read later still supersedes it).
   */
  update(sliverId: string, next: LedgerUpdate, options?: UpdateOptions): Promise<WriteOutcome>;
  stop(): Promise<void>;
}

/** In-memory store: for unit tests and for running without a state topic. Same ordering rules as the Kafka store. */
export class MemoryLedgerStore implements LedgerStore {
  private readonly ledgers = new Map<string, SliverLedger>();
  private readonly mutex = new KeyedMutex();
  /** Test seam: fail the next writes with this error. */
  failWrites: Error | null = null;

  async start(): Promise<void> {}
  async catchUp(): Promise<void> {}
  get(sliverId: string): SliverLedger | undefined {
    return this.ledgers.get(sliverId);
  }
  update(sliverId: string, next: LedgerUpdate, _options?: UpdateOptions): Promise<WriteOutcome> {
    return this.mutex.run(sliverId, async () => {
      const current = this.ledgers.get(sliverId);
      const record = next(current);
      if (!record) return { won: false, current };
      if (this.failWrites) throw this.failWrites;
      this.apply(record);
      return { won: this.ledgers.get(sliverId) === record, current: this.ledgers.get(sliverId) };
    });
  }
  /** A record written by someone else (another instance), as the reader would apply it. */
  apply(record: SliverLedger): void {
    if (supersedes(record, this.ledgers.get(record.sliver_id))) this.ledgers.set(record.sliver_id, record);
  }
  async stop(): Promise<void> {}
}
