import { describe, expect, it } from 'vitest';
import type { SliverLedger } from '../../../src/codec/types.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { emptyLedger } from '../../../src/state/ledger.js';
import { LedgerSweeper } from '../../../src/state/sweeper.js';

const DAY = 86_400_000;
const ledger = (id: string, fields: Partial<SliverLedger>): SliverLedger => ({ ...emptyLedger(id), ...fields });

describe('LedgerSweeper', () => {
  it('tombstones only ledgers closed longer than the retention with nothing in flight, on owned partitions', async () => {
    const now = 100 * DAY;
    const byPartition = new Map<number, SliverLedger[]>([
      [0, [ledger('old-closed', { closed_at: now - 8 * DAY }), ledger('new-closed', { closed_at: now - 1 * DAY }), ledger('open', {})]],
      [1, [ledger('old-closed-but-running', { closed_at: now - 9 * DAY, in_flight: { event_id: 'e', sequence: 3, operation: 'REDEEM', owner: 'x', started_at: now, expires_at: now + 1 } })]],
      [2, [ledger('not-ours', { closed_at: now - 30 * DAY })]],
    ]);
    const deleted: string[] = [];
    const sweeper = new LedgerSweeper({
      store: {
        ledgersOf: (p) => byPartition.get(p) ?? [],
        tombstone: async (id, still) => {
          const l = [...byPartition.values()].flat().find((x) => x.sliver_id === id)!;
          if (!still(l)) return false;
          deleted.push(id);
          return true;
        },
      },
      partitions: () => [0, 1],
      retentionMs: 7 * DAY,
      intervalMs: 1000,
      logger: silentLogger(),
      now: () => now,
    });
    expect(await sweeper.sweepOnce()).toBe(1);
    expect(deleted).toEqual(['old-closed']);
  });
});
