import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { replay, type ReplayLine } from '../../src/replay.js';
import { testConfig } from '../helpers/config.js';
import { resultsWithin } from '../helpers/delivery-core.js';
import { sleep } from '../helpers/kafka.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, slowEvent, slowHandler, slowLog, testRoot } from '../helpers/slow.js';

/** Polls the slow playbook's order log (one line per run: `<sliver> <op> <seq>`) until `line` occurs `count` times. */
async function runsOf(state: string, line: string, count: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = slowLog(state, 'order.log').filter((l) => l === line).length;
    if (n >= count || Date.now() > deadline) return n;
    await sleep(200);
  }
}

// Issue 7, finding 6: `amh replay` is not a member of the service's group, so
// its in-flight marks look dead to `amh run`, which "reconciles" by running
// the same event again while replay still runs it. Expected: run once.
describe('delivery core: replay and run on the same unanswered event', () => {
  let amh: TestService | undefined;
  afterAll(async () => {
    await amh?.stop();
  });

  it('an event running in `amh replay` is not run again by the service: one playbook run', async () => {
    const state = join(testRoot(testConfig()), 'slow');
    // One slot: the service is busy with `rl-0` while replay takes `rl-1`, which the service has not answered yet.
    amh = await startTestService({ ...slowHandler(state), consumer: { concurrency: 1 } }, { plugins: PLUGINS_WITH_SLOW });
    const busy = slowEvent('rl-0', 'REDEEM', 1, 7);
    const target = slowEvent('rl-1', 'REDEEM', 1, 12);
    await amh.send(busy, target);
    expect(await runsOf(state, 'rl-0 REDEEM 1', 1, 30_000)).toBe(1); // the service is in rl-0's playbook

    const lines: ReplayLine[] = [];
    const replaying = replay(
      { config: amh.config, logger: silentLogger(), plugins: PLUGINS_WITH_SLOW },
      { from: '1', to: 'latest' }, // offset 1 = `target` only
      (line) => lines.push(line),
    );
    // Replay got there first: its playbook for rl-1 runs while the service still runs rl-0.
    expect(await runsOf(state, 'rl-1 REDEEM 1', 1, 30_000)).toBe(1);

    const summary = await replaying;
    expect(summary).toMatchObject({ events: 1 });
    // The service answers rl-1 too (after replay, from the ledger): two results for it in all.
    const results = await resultsWithin(amh.topics.replies, [String(target.event_id)], 60_000, 2);
    // Read on its own: its reply may be on another partition than rl-1's, read after rl-1's two were found.
    const busyResults = await resultsWithin(amh.topics.replies, [String(busy.event_id)], 60_000);
    expect(busyResults.get(String(busy.event_id))?.[0]?.outcome).toBe('OK');
    expect(results.get(String(target.event_id))?.map((r) => r.outcome)).toEqual(['OK', 'OK']);
    // The point: one playbook run for the event, not one in replay and one in the service.
    expect(slowLog(state, 'order.log').filter((l) => l.startsWith('rl-1 '))).toEqual(['rl-1 REDEEM 1']);
  });
});
