import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/kafka/partition-of.js';
import { testConfig } from '../helpers/config.js';
import { committedOffsets, resultsWithin, stableGroup } from '../helpers/delivery-core.js';
import { sleep, uniqueName, withAdmin } from '../helpers/kafka.js';
import { createServiceTopics, startTestService, testTopics, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, slowEvent, slowHandler, slowLog, testRoot } from '../helpers/slow.js';

/** Sliver ids whose events land on `partition` of a two-partition topic (the producers' murmur2 partitioner). */
function sliversOn(partition: number, count: number, prefix: string): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) {
    const id = `${prefix}-${i}`;
    if (partitionOf(id, 2) === partition) ids.push(id);
  }
  return ids;
}

// Issue 7, finding 5: work an instance has queued for a partition that a
// rebalance moved away still runs (or is re-answered) and commits on the old
// instance, so the partition's committed offset moves backwards under the new
// owner, and two instances may run one event. Expected: after a rebalance
// the committed offset of a partition never decreases, and each event runs once.
//
// Construction: A (one slot) holds a long queue on both partitions: a 15 s
// event on partition 0 (running), a 15 s event on partition 1, then short
// ones on both. B joins and takes one partition; more events are then sent to
// B's partition, so B commits it further than anything A ever accepted. A's
// queued work for that partition finishes only after A's long events, and
// then commits the partition back to where A's queue ended.
describe('delivery core: revoked partitions', () => {
  const started: TestService[] = [];
  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  it('an instance that loses a partition does not commit it backwards or run its events again', async () => {
    const state = join(testRoot(testConfig()), 'slow');
    const topics = testTopics();
    const groupId = uniqueName('amh-rebalance');
    await createServiceTopics(topics, 2);
    const sections = (concurrency: number) => ({ ...slowHandler(state), consumer: { concurrency, shutdown_grace: '5s' } });
    const [long0, ...short0] = sliversOn(0, 4, 'rb0');
    const [long1, ...short1] = sliversOn(1, 4, 'rb1');

    const a = await startTestService(sections(1), { topics, groupId, plugins: PLUGINS_WITH_SLOW });
    started.push(a);
    await stableGroup(groupId, topics.events, 1);
    const first = [slowEvent(long0!, 'REDEEM', 1, 15)];
    await a.send(...first);
    for (const t0 = Date.now(); slowLog(state, 'order.log').length === 0 && Date.now() - t0 < 30_000; ) await sleep(200);
    const second = [slowEvent(long1!, 'REDEEM', 1, 15)];
    await a.send(...second);
    await sleep(1500); // accepted (queued behind the running one) before the short ones
    const shorts = [...short0, ...short1].map((id) => slowEvent(id, 'REDEEM', 1, 1));
    await a.send(...shorts);
    await sleep(1500);

    const b = await startTestService(sections(4), { topics, groupId, plugins: PLUGINS_WITH_SLOW });
    started.push(b);
    const members = await stableGroup(groupId, topics.events, 2);
    const moved = members.find((m) => m.clientId.endsWith(`/${b.service.instanceId}`))?.partitions;
    expect(moved).toHaveLength(1);
    const p = moved![0]!;
    const later = sliversOn(p, 3, `rb${p}-later`).map((id) => slowEvent(id, 'REDEEM', 1, 0));
    await b.send(...later);
    const ends = await withAdmin(async (admin) => Object.fromEntries((await admin.fetchTopicOffsets(topics.events)).map((x) => [x.partition, x.high])));

    // Watch the committed offset of the moved partition until A has nothing left.
    const history: string[] = [];
    const watch = async (): Promise<void> => {
      const o = (await committedOffsets(groupId, topics.events))[p] ?? '-1';
      if (history.at(-1) !== o) history.push(o);
    };
    const all = [...first, ...second, ...shorts, ...later];
    const answered = resultsWithin(topics.replies, all.map((e) => String(e.event_id)), 100_000);
    let done = false;
    void answered.finally(() => (done = true));
    while (!done) {
      await watch();
      await sleep(100);
    }
    for (const t0 = Date.now(); Date.now() - t0 < 40_000 && (a.service.pending > 0 || b.service.pending > 0); ) {
      await watch();
      await sleep(100);
    }
    await sleep(1000);
    await watch();
    const results = await answered;

    expect(all.filter((e) => !results.has(String(e.event_id))).map((e) => e.sliver_id)).toEqual([]);
    const seen = history.map(Number);
    const backwards = seen.slice(1).filter((o, i) => o < seen[i]!);
    expect.soft(backwards, `partition ${p} (moved to B) committed offsets over time: ${history.join(' -> ')}`).toEqual([]);
    const runs = slowLog(state, 'order.log');
    expect.soft([...new Set(runs.filter((l, i) => runs.indexOf(l) !== i))], 'events whose playbook ran more than once').toEqual([]);
    expect(await committedOffsets(groupId, topics.events)).toEqual(ends);
  });
});
