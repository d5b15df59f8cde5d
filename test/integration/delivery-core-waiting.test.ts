import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { replay, type ReplayLine } from '../../src/replay.js';
import { testConfig } from '../helpers/config.js';
import { outcomes, resultsWithin, stableGroup, writeInFlightMark } from '../helpers/delivery-core.js';
import { sleep, uniqueName } from '../helpers/kafka.js';
import { createServiceTopics, startTestService, testTopics, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, slowEvent, slowHandler, testRoot } from '../helpers/slow.js';

// Findings 10 and 12(a): in-flight marks (live leases) held by another live
// instance. Two services share the group and a one-partition topic, so one
// does the work and the other is a live, idle member; the marks carry the
// idle one's instance id and a lease, exactly as if it were running those
// operations.
describe('delivery core: waiting for another live instance', () => {
  const state = join(testRoot(testConfig()), 'slow');
  const topics = testTopics();
  const groupId = uniqueName('amh-wait');
  const started: TestService[] = [];
  let worker: TestService;
  let idle: TestService;
  const held = [slowEvent('held-1', 'MODIFY', 2, 0), slowEvent('held-2', 'MODIFY', 2, 0)];

  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  it('N slivers waiting on another instance do not hold all N slots: other slivers are answered promptly', async () => {
    await createServiceTopics(topics, 1);
    const sections = { ...slowHandler(state), consumer: { concurrency: held.length, shutdown_grace: '2s' } };
    for (let i = 0; i < 2; i++) started.push(await startTestService(sections, { topics, groupId, plugins: PLUGINS_WITH_SLOW }));
    const members = await stableGroup(groupId, topics.events, 2);
    const owns = (s: TestService) => members.some((m) => m.clientId.endsWith(`/${s.service.instanceId}`) && m.partitions.includes(0));
    worker = started.find(owns)!;
    idle = started.find((s) => !owns(s))!;
    expect(worker).toBeDefined();
    expect(idle).toBeDefined();

    for (const e of held) await writeInFlightMark(topics.state, String(e.sliver_id), idle.service.instanceId);
    await sleep(2000); // every instance follows the state topic
    const free = [1, 2, 3].map((i) => slowEvent(`free-${i}`, 'REDEEM', 1, 0));
    await worker.send(...held, ...free);

    const results = await resultsWithin(topics.replies, free.map((e) => String(e.event_id)), 30_000);
    expect(outcomes(results, free)).toEqual({ 'free-1#1': 'OK', 'free-2#1': 'OK', 'free-3#1': 'OK' });
  });

  it('a CANCELLED answer given while waiting (shutdown) is recorded: a redelivery re-publishes it instead of running', async () => {
    expect(worker, 'needs the previous test').toBeDefined();
    // The marks' owner is still alive, so the held events are still waiting when the worker stops.
    await worker.stop();
    const results = await resultsWithin(topics.replies, held.map((e) => String(e.event_id)), 20_000);
    expect(outcomes(results, held)).toEqual({ 'held-1#2': 'CANCELLED', 'held-2#2': 'CANCELLED' });

    await idle.stop(); // the marks' owner is gone now, as after a crash
    const lines: ReplayLine[] = [];
    await replay(
      { config: worker.config, logger: silentLogger(), plugins: PLUGINS_WITH_SLOW },
      { from: 'earliest', to: 'latest', dryRun: true },
      (line) => lines.push(line),
    );
    const decisions = Object.fromEntries(lines.filter((l) => l.sliver_id?.startsWith('held-')).map((l) => [l.sliver_id, l.decision]));
    expect(decisions).toEqual({ 'held-1': 'duplicate', 'held-2': 'duplicate' });
  });
});
