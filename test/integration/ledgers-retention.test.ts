import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/config.js';
import { sleep } from '../helpers/kafka.js';
import { withLedgers } from '../helpers/ledgers.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, slowEvent, slowHandler, slowLog, testRoot } from '../helpers/slow.js';

// Issue 8: closed slivers go away, and a replay can never resurrect one.
describe('closed slivers after the ledger retention', () => {
  let amh: TestService | undefined;
  afterAll(async () => {
    await amh?.stop();
  });

  it('a closed sliver\'s ledger is tombstoned after the retention, and a replay of its create afterwards is STALE', async () => {
    const state = join(testRoot(testConfig()), 'slow');
    const RETENTION = 8_000;
    amh = await startTestService(
      { ...slowHandler(state), consumer: { cancel_create_on_close: false } },
      {
        plugins: PLUGINS_WITH_SLOW,
        // Seconds instead of days (validation refuses less than 1h for a real deployment).
        configure: (config) => {
          config.consumer.ledger_retention = RETENTION;
          config.consumer.ledger_sweep_interval = 500;
        },
      },
    );
    const create = slowEvent('ret-1', 'REDEEM', 1, 0);
    const close = slowEvent('ret-1', 'CLOSE', 2, 0);
    await amh.send(create, close);
    const first = await amh.replies(2, 60_000);
    expect(first.map((r) => r.outcome)).toEqual(['OK', 'OK']);
    expect(await withLedgers(amh.topics.state, (get) => get('ret-1')?.closed_at)).toBeGreaterThan(0);

    // After the retention, the owner deletes the ledger: a tombstone on the state topic.
    const deadline = Date.now() + RETENTION + 15_000;
    let gone = false;
    while (!gone && Date.now() < deadline) {
      await sleep(1000);
      gone = await withLedgers(amh.topics.state, (get) => get('ret-1') === undefined);
    }
    expect(gone).toBe(true);

    // The create replayed (same event, its original timestamp, older than the retention now): STALE, nothing runs.
    const runsBefore = slowLog(state, 'order.log').filter((l) => l.startsWith('ret-1 ')).length;
    await amh.send(create);
    const replies = await amh.replies(3, 60_000);
    expect(replies[2]).toMatchObject({ event_id: create.event_id, outcome: 'STALE' });
    expect(replies[2]?.message).toMatch(/older than the ledger retention/);
    expect(slowLog(state, 'order.log').filter((l) => l.startsWith('ret-1 '))).toHaveLength(runsBefore);
  });
});
