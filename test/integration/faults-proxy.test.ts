import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { proxiedSocketFactory, startFaultProxy, type CutMode, type FaultProxy } from '../helpers/fault-proxy.js';
import {
  partitionOfKey,
  readReplies,
  repeated,
  sliverIdOn,
  waitForMembers,
  watchCommittedOffsets,
  type CommitWatch,
  type ReplyLog,
} from '../helpers/faults.js';
import { kafkaBrokers, sleep, uniqueName, withAdmin } from '../helpers/kafka.js';
import { createServiceTopics, startTestService, testTopics, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, slowEvent, slowHandler, slowLog } from '../helpers/slow.js';

// The service's every connection to the broker goes through a fault proxy
// (kafkajs socketFactory), while the test watches from outside it. Whatever
// the network does, a user must see: every event answered, no sliver
// provisioned twice, committed offsets that never move backwards, and every
// partition committed up to its end.
describe('delivery through network faults', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  /** A fault proxy in front of the broker, and the kafkajs socketFactory that sends every broker connection through it. */
  async function proxied() {
    const [bootstrap] = kafkaBrokers();
    const [targetHost, targetPort] = bootstrap!.split(':') as [string, string];
    const proxy = await startFaultProxy({ targetHost, targetPort: Number(targetPort) });
    cleanups.push(() => proxy.close());
    // Bootstrap address and every address the broker advertises in metadata: all via the proxy.
    const advertised = await withAdmin(async (admin) => (await admin.describeCluster()).brokers);
    const routes = Object.fromEntries([bootstrap!, ...advertised.map((b) => `${b.host}:${b.port}`)].map((a) => [a, proxy]));
    return { proxy, socketFactory: proxiedSocketFactory(routes) };
  }

  async function setup(partitions: number) {
    const shared = await proxied();
    const topics = testTopics();
    await createServiceTopics(topics, partitions);
    const groupId = uniqueName('faults');
    const state = mkdtempSync(join(tmpdir(), 'amh-faults-'));
    const replies = await readReplies(topics.replies);
    cleanups.push(() => replies.stop());
    const commits = await watchCommittedOffsets(groupId, topics.events);
    cleanups.push(() => commits.stop());

    const services: TestService[] = [];
    /** A Service behind a proxy (default: the proxy all services of this test share). */
    const startService = async ({ proxy, socketFactory } = shared): Promise<TestService> => {
      const service = await startTestService(
        { ...slowHandler(state), consumer: { concurrency: 4, shutdown_grace: '5s' } },
        { topics, groupId, plugins: PLUGINS_WITH_SLOW, socketFactory },
      );
      services.push(service);
      // Let stop() through a healed network, then close the proxy (registered earlier, so it runs later).
      cleanups.push(async () => {
        proxy.restore();
        proxy.setLatency(0);
        await service.stop();
      });
      return service;
    };
    return { proxy: shared.proxy, topics, groupId, state, replies, commits, services, startService };
  }

  /** `count` slow REDEEMs of distinct slivers taking `delay` seconds each, sent as the AM would. */
  async function sendSlow(service: TestService, prefix: string, count: number, delay: number) {
    const events = Array.from({ length: count }, (_, i) => slowEvent(`${prefix}-${i}`, 'REDEEM', 1, delay));
    await service.send(...events);
    return events;
  }

  /** The four promises, checked once the work is done. */
  async function expectDeliveredOnce(
    events: Record<string, unknown>[],
    { replies, commits, state }: { replies: ReplyLog; commits: CommitWatch; state: string },
  ): Promise<void> {
    const ids = events.map((e) => String(e.event_id));
    await replies.waitForAll(ids, 90_000);
    const { committed, end } = await commits.waitForCaughtUp(30_000);
    await commits.stop();

    // Every event answered, and answered OK.
    const notOk = ids.filter((id) => !replies.byEvent.get(id)?.some((r) => r.outcome === 'OK'));
    expect(notOk, `events without an OK result: ${JSON.stringify(ids.map((id) => replies.byEvent.get(id)?.map((r) => r.outcome)))}`).toEqual([]);
    // None provisioned twice: the slow playbook appends a sliver to effects.log when it creates it.
    const sliverIds = events.map((e) => String(e.sliver_id)).sort();
    expect(slowLog(state, 'effects.log').sort(), 'effects.log (a line per sliver created)').toEqual(sliverIds);
    // Committed offsets never moved backwards, and every partition committed up to its end.
    expect(commits.backwards(), `history: ${JSON.stringify([...commits.history])}`).toEqual([]);
    expect(committed).toEqual(end);

    // None started twice: the slow playbook appends a line to order.log each time it starts, and
    // nothing here crashes, so a second run of a sliver means the service lost track of its own work.
    expect(repeated(slowLog(state, 'order.log'), (line) => line.split(' ')[0]!), 'playbook runs per sliver, where more than one').toEqual({});

    // Diagnostic (not asserted): events answered more than once (a redelivered event answered again from its ledger).
    const outcomes = (id: string) => replies.byEvent.get(id)?.map((r) => r.outcome).join('+');
    const multi = ids.filter((id) => (replies.byEvent.get(id)?.length ?? 0) > 1).map(outcomes);
    console.info(`${multi.length} of ${ids.length} events answered more than once ${JSON.stringify(multi)}; reader re-reads ${replies.reread}`);
  }

  it('(0) control: no faults', async () => {
    const t = await setup(3);
    const service = await t.startService();
    const events = await sendSlow(service, 'control', 8, 0);
    await expectDeliveredOnce(events, t);
  });

  it('(a) connections reset again and again while replies are published', async () => {
    const t = await setup(3);
    const service = await t.startService();
    const events = await sendSlow(service, 'reset', 20, 1);
    // Reset everything every 1.5 s until the last reply is out (and once more after).
    let resets = 0;
    let done = false;
    const resetter = (async () => {
      while (!done) {
        await sleep(1500);
        if (t.proxy.resetAll() > 0) resets++;
      }
    })();
    try {
      await t.replies.waitForAll(events.map((e) => String(e.event_id)), 90_000);
      await sleep(1500);
    } finally {
      done = true;
      await resetter;
    }
    expect(resets).toBeGreaterThan(3);
    await expectDeliveredOnce(events, t);
  });

  it.each<CutMode>(['reset', 'stall'])("(b) the broker cut off ('%s') for 10 s while 20 slivers run", async (mode) => {
    const t = await setup(3);
    const service = await t.startService();
    const events = await sendSlow(service, `cut-${mode}`, 20, 3);
    // Cut once work is running and the first answers are being published.
    await waitUntil(() => t.replies.count >= 2, 60_000, 'the first replies');
    t.proxy.cut(mode);
    await sleep(10_000);
    t.proxy.restore();
    await expectDeliveredOnce(events, t);
  });

  it('(c) a second instance joins while work is in flight', async () => {
    const t = await setup(4);
    const first = await t.startService();
    const events = await sendSlow(first, 'join', 20, 3);
    await waitUntil(() => t.replies.count >= 1, 60_000, 'the first reply');
    await t.startService(); // the group rebalances with playbooks running
    await expectDeliveredOnce(events, t);
  });

  it('(d) an instance cut off past its session timeout while its playbooks run, as another takes its partitions', async () => {
    const t = await setup(4);
    const isolated = await proxied();
    const first = await t.startService(isolated); // behind its own proxy, so only it is cut off
    await t.startService();
    const members = await waitForMembers(t.groupId, t.topics.events, 2);
    const owned = [...members].find(([clientId]) => clientId.endsWith(`/${first.service.instanceId}`))?.[1] ?? [];
    expect(owned.length, `partitions of the instance to cut off: ${JSON.stringify([...members])}`).toBeGreaterThan(0);
    // Two slivers per partition; the cut-off instance runs all of its own at once (concurrency 4).
    const events = [0, 1, 2, 3].flatMap((p) => [0, 1].map((i) => slowEvent(sliverIdOn(p, 4, `zombie-p${p}-${i}`), 'REDEEM', 1, 10)));
    await first.send(...events);
    const its = events.filter((e) => owned.includes(partitionOfKey(String(e.sliver_id), 4))).map((e) => String(e.sliver_id));
    const started = () => new Set(slowLog(t.state, 'order.log').map((line) => line.split(' ')[0]));
    await waitUntil(() => its.every((id) => started().has(id)), 60_000, `the cut-off instance running ${its.join(', ')}`);
    // Longer than the 10 s session timeout: the group gives its partitions away while its playbooks still run.
    isolated.proxy.cut('stall');
    await sleep(18_000);
    isolated.proxy.restore();
    await expectDeliveredOnce(events, t);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(100);
  }
}
