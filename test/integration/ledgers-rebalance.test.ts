import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/config.js';
import { uniqueName } from '../helpers/kafka.js';
import { resultsWithin, stableGroup } from '../helpers/delivery-core.js';
import { createServiceTopics, startTestService, testTopics, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, slowEvent, slowHandler, slowLog, testRoot } from '../helpers/slow.js';

// Issue 8: ledgers move with their partitions; replay safety holds across a rebalance.
describe('ledgers across a rebalance', () => {
  const started: TestService[] = [];
  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  it('the instance that gets a partition restores its ledgers: duplicates re-published, stale events STALE, nothing run twice', async () => {
    const state = join(testRoot(testConfig()), 'slow');
    const topics = testTopics();
    const groupId = uniqueName('amh-ledger-rebalance');
    await createServiceTopics(topics, 2);
    const sections = { ...slowHandler(state), consumer: { cancel_create_on_close: false } };
    const start = async (): Promise<TestService> => {
      const s = await startTestService(sections, { plugins: PLUGINS_WITH_SLOW, topics, groupId });
      started.push(s);
      return s;
    };
    const a = await start();
    // Answered by A alone (it owns both partitions): a create and a close per sliver.
    const slivers = Array.from({ length: 6 }, (_, i) => `lr-${i}`);
    const first = slivers.flatMap((s) => [slowEvent(s, 'REDEEM', 1, 0), slowEvent(s, 'CLOSE', 2, 0)]);
    await a.send(...first);
    const answered = await resultsWithin(topics.replies, first.map((e) => String(e.event_id)), 90_000);
    // Each event's first reply, with its message: a failure says which event and why.
    const firsts = [...answered.values()].map((r) => `${r[0]?.operation} ${r[0]?.sliver_id}: ${r[0]?.outcome} (${r[0]?.message})`);
    expect(firsts.filter((f) => !f.includes(': OK ('))).toEqual([]);
    const runs = slowLog(state, 'order.log').filter((l) => l.startsWith('lr-')).length;

    // B joins and takes one of the partitions (and restores its ledgers from the state topic).
    const b = await start();
    const members = await stableGroup(groupId, topics.events, 2);
    const bPartitions = members.find((m) => m.clientId.endsWith(`/${b.service.instanceId}`))?.partitions ?? [];
    expect(bPartitions).toHaveLength(1);

    const byB: string[] = [];
    b.service.events.on('result', ({ result }) => byB.push(result.outcome));
    // Everything again: the same events (duplicates) and a create with a new id and an old sequence (stale).
    const stale = slivers.map((s) => slowEvent(s, 'REDEEM', 1, 0));
    await a.send(...first, ...stale);
    const ids = [...first, ...stale].map((e) => String(e.event_id));
    const all = await resultsWithin(topics.replies, ids, 90_000, 1);
    for (const e of first) expect(all.get(String(e.event_id))?.map((r) => r.outcome)).toEqual(['OK', 'OK']);
    for (const e of stale) expect(all.get(String(e.event_id))?.[0]?.outcome).toBe('STALE');
    expect(slowLog(state, 'order.log').filter((l) => l.startsWith('lr-'))).toHaveLength(runs);
    // B answered its partition's share from ledgers it restored (A wrote them): duplicates and STALE, nothing run.
    expect(b.service.ownership.partitions()).toEqual(bPartitions);
    expect(byB.length).toBeGreaterThan(0);
    expect(new Set(byB)).toEqual(new Set(['OK', 'STALE']));
  });
});
