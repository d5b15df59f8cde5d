import type { Consumer } from 'kafkajs';
import { FatalError, errorMessage, type AmhError } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import type { WriteStamp } from './ledger.js';
import type { LedgerUpdate } from './store.js';

/** What the ledger stores share around their changelog reader. */

/** Callers waiting for the reader's next progress (a write to be read back, a catch-up). */
export class ReadWaiters {
  private readonly waiters = new Set<() => void>();

  /** Resolves at the reader's next progress, or after `maxMs`. */
  next(maxMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(wake, maxMs);
      this.waiters.add(wake);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

/**
 * A reader that stopped for good would leave every catch-up and write
 * waiting: `fail` hears it. A crash kafkajs restarts from is only logged.
 */
export function watchReaderCrash(consumer: Consumer, topic: string, logger: Logger, fail: (err: AmhError) => void): void {
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) {
      logger.warn({ err: payload.error }, 'ledger reader crashed; kafkajs restarts it');
      return;
    }
    fail(new FatalError(`the ledger reader of ${topic} stopped: ${errorMessage(payload.error)}`, { cause: payload.error }));
  });
}

/**
 * A losing record arrived after our winning one: write ours again (one
 * version up), so the log's last record, which compaction keeps, is the
 * winner. Nothing is written when the ledger moved on meanwhile.
 */
export function reassert(instanceId: string, known: WriteStamp): LedgerUpdate {
  return (current) => (current && current.writer === instanceId && current.epoch === known.epoch ? { ...current, version: current.version + 1 } : null);
}

export function describeWrite(w: WriteStamp): string {
  return `${w.writer || '?'} epoch ${w.epoch} version ${w.version}`;
}
