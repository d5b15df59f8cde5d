import type { SliverLedger } from '../codec/types.js';

/**
 * Durable per-sliver ledgers. The Kafka implementation keeps them on a
 * compacted topic keyed by sliver id; tests use an in-memory one.
 */
export interface LedgerStore {
  start(): Promise<void>;
  /** Resolves once every record written before the call has been read back. */
  catchUp(): Promise<void>;
  get(sliverId: string): SliverLedger | undefined;
  /** Durable when resolved; readers never replace a newer version with an older one. */
  put(ledger: SliverLedger): Promise<void>;
  stop(): Promise<void>;
}

/** Whether an instance (by id) is still part of the consumer group. */
export type Liveness = (owner: string) => Promise<boolean>;

/** In-memory store: for unit tests and for running without a state topic. */
export class MemoryLedgerStore implements LedgerStore {
  private readonly ledgers = new Map<string, SliverLedger>();
  async start(): Promise<void> {}
  async catchUp(): Promise<void> {}
  get(sliverId: string): SliverLedger | undefined {
    return this.ledgers.get(sliverId);
  }
  async put(ledger: SliverLedger): Promise<void> {
    this.ledgers.set(ledger.sliver_id, ledger);
  }
  async stop(): Promise<void> {}
}
