import type { SliverLedger } from '../codec/types.js';
import type { Logger } from '../observability/logger.js';
import { isExpired } from './ledger.js';

export interface SweepableStore {
  ledgersOf(partition: number): Iterable<SliverLedger>;
  tombstone(sliverId: string, still: (ledger: SliverLedger) => boolean): Promise<boolean>;
}

export interface LedgerSweeperOptions {
  store: SweepableStore;
  /** The partitions this instance owns now (only their owner deletes their ledgers). */
  partitions: () => number[];
  retentionMs: number;
  intervalMs: number;
  logger: Logger;
  now?: () => number;
}

/**
 * Closed slivers go away: every `intervalMs`, the owner of each partition
 * tombstones the ledgers of slivers whose CLOSE was answered OK longer ago
 * than the retention (and that run nothing now), so compaction removes them
 * from the state topic. A replayed event older than the retention finds no
 * ledger and is answered STALE. A failed sweep is logged and tried again at
 * the next interval (it only delays a deletion).
 */
export class LedgerSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: LedgerSweeperOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.running ??= this.sweepOnce()
        .catch((err: unknown) => {
          this.o.logger.warn({ err }, 'ledger sweep failed; trying again at the next interval');
          return 0;
        })
        .finally(() => (this.running = null));
    }, this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass over the owned partitions; resolves with how many ledgers were deleted. */
  async sweepOnce(): Promise<number> {
    const { retentionMs } = this.o;
    const expired = (l: SliverLedger): boolean => isExpired(l, this.now(), retentionMs);
    let deleted = 0;
    for (const partition of this.o.partitions()) {
      const due = [...this.o.store.ledgersOf(partition)].filter(expired).map((l) => l.sliver_id);
      for (const id of due) if (await this.o.store.tombstone(id, expired)) deleted++;
    }
    if (deleted > 0) this.o.logger.info({ deleted, retentionMs }, 'ledgers of slivers closed longer than the retention deleted');
    return deleted;
  }
}
