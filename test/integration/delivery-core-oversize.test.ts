import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/config.js';
import { committedOffsetsWithin, outcomes, resultsWithin } from '../helpers/delivery-core.js';
import { createTopics, withAdmin } from '../helpers/kafka.js';
import { startTestService, testTopics, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, slowEvent, slowHandler, testRoot } from '../helpers/slow.js';

// Issue 7, finding 1: an event whose answer is too big to record in the
// sliver's ledger was neither answered nor dead-lettered, and its partition's
// commit stayed at that offset forever; the same sliver's next event was not
// answered either. Expected: the oversize event is answered REJECTED (cut
// down with a note if the reply itself is too big), the events behind it are
// answered, and the group's committed offset reaches the end of the partition.
describe('delivery core: an answer too big for the ledger', () => {
  let amh: TestService | undefined;
  afterEach(async () => {
    await amh?.stop();
    amh = undefined;
  });

  async function start(stateTopicConfig: Record<string, string>): Promise<TestService> {
    const topics = testTopics();
    // Default topic settings (max.message.bytes 1048588 on Kafka 4.1) except where a test says otherwise.
    await createTopics([topics.events, topics.replies, topics.dead_letter], 1);
    await createTopics([topics.state], 1, { 'cleanup.policy': 'compact', ...stateTopicConfig });
    const state = join(testRoot(testConfig()), 'slow');
    amh = await startTestService(slowHandler(state), { topics, plugins: PLUGINS_WITH_SLOW });
    return amh;
  }

  /** The oversize event, then a small one of the same sliver and one of another sliver, on one partition. */
  async function sendOversizeThenSmall(amh: TestService, typeBytes: number) {
    const big: Record<string, unknown> = { ...slowEvent('huge-1', 'REDEEM', 1, 0), resource_type: 'X'.repeat(typeBytes) };
    const sameSliver = slowEvent('huge-1', 'REDEEM', 2, 0);
    const otherSliver = slowEvent('small-1', 'REDEEM', 1, 0);
    await amh.send(big, sameSliver, otherSliver);
    return { big, sameSliver, otherSliver, all: [big, sameSliver, otherSliver] };
  }

  it('reply fits, ledger record does not: REJECTED is published, later events are answered, commits reach the end', async () => {
    // The REJECTED reply carries the resource type twice (the `resource_type`
    // field and "no handler for resource type '…'"), so a 350 KB type makes a
    // ~700 KB reply: it fits the reply topic's default 1 MB. The state topic's
    // limit is set to 512 KB so that the ledger record holding that reply is
    // reliably too big, whatever the broker's default is.
    const amh = await start({ 'max.message.bytes': '512000' });
    const { big, all } = await sendOversizeThenSmall(amh, 350_000);

    const results = await resultsWithin(amh.topics.replies, all.map((e) => String(e.event_id)), 30_000);
    expect.soft(outcomes(results, all)).toEqual({ 'huge-1#1': 'REJECTED', 'huge-1#2': 'OK', 'small-1#1': 'OK' });
    expect.soft(results.get(String(big.event_id))?.[0]).toMatchObject({ result_code: -2, error_code: 'UNKNOWN_RESOURCE_TYPE' });
    expect(await committedOffsetsWithin(amh.config.kafka.group_id, amh.topics.events, { 0: '3' }, 10_000)).toEqual({ 0: '3' });
  });

  it('a ~600 KB resource type with every topic at its default: REJECTED (cut down if needed), nothing stuck', async () => {
    const amh = await start({});
    const limits = await withAdmin(async (admin) => {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [amh.topics.replies, amh.topics.state].map((name) => ({ type: 2, name, configNames: ['max.message.bytes'] })),
      });
      return resources.map((r) => Number(r.configEntries[0]?.configValue));
    });
    // Documents the premise: a ~1.2 MB reply (the type echoed twice) fits neither topic, so the service must cut it down.
    expect(limits.every((l) => l < 1_200_000)).toBe(true);
    const { big, all } = await sendOversizeThenSmall(amh, 600_000);

    const results = await resultsWithin(amh.topics.replies, all.map((e) => String(e.event_id)), 30_000);
    expect.soft(outcomes(results, all)).toEqual({ 'huge-1#1': 'REJECTED', 'huge-1#2': 'OK', 'small-1#1': 'OK' });
    expect.soft(results.get(String(big.event_id))?.[0]?.result_code).toBe(-2);
    expect(await committedOffsetsWithin(amh.config.kafka.group_id, amh.topics.events, { 0: '3' }, 10_000)).toEqual({ 0: '3' });
  });
});
