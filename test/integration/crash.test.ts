import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SliverResult } from '../../src/codec/types.js';
import { withLedgers } from '../helpers/ledgers.js';
import { silentLogger } from '../../src/observability/logger.js';
import { testConfig } from '../helpers/config.js';
import { kafkaClient, produceRaw, sleep, uniqueName, withProducer } from '../helpers/kafka.js';
import { startAmhProcess, type AmhProcess } from '../helpers/process.js';
import { codec, createServiceTopics, testTopics } from '../helpers/service.js';
import { processesMentioning, slowEvent, slowHandler, slowItems, slowLog, testRoot } from '../helpers/slow.js';

// kill -9 while playbooks run: every event ends with exactly one effect in
// the substrate and at least one result, and no sliver stays in flight.
describe('crash recovery and scale-out', () => {
  const started: AmhProcess[] = [];
  afterEach(async () => {
    for (const p of started.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    }
  });

  async function setup(partitions: number, delay: number) {
    const topics = testTopics();
    await createServiceTopics(topics, partitions);
    const probe = testConfig();
    const state = join(testRoot(probe), 'slow');
    const config = testConfig({
      ...slowHandler(state, { delay }),
      kafka: { brokers: probe.kafka.brokers, group_id: uniqueName('crash'), topics, create_topics: false, session_timeout: '6s' },
      // A short lease: the restarted instance takes over the killed one's slivers within seconds.
      consumer: { concurrency: 4, shutdown_grace: '20s', lease_ttl: '5s' },
      logging: { level: 'info' },
    });
    const start = (): AmhProcess => {
      const p = startAmhProcess(config.source);
      started.push(p);
      return p;
    };
    return { config, topics, state, root: testRoot(config), start };
  }

  async function send(topic: string, events: Record<string, unknown>[]): Promise<void> {
    await produceRaw(topic, events.map((e) => ({ key: String(e.sliver_id), value: codec.encode('event', e) })));
  }

  it('a consumer killed with -9 mid-run is restarted and every event gets one effect and a result', async () => {
    const { config, topics, state, root, start } = await setup(1, 4);
    const first = start();
    await first.waitForLog('"msg":"consuming"');
    const events = Array.from({ length: 6 }, (_, i) => slowEvent(`crash-${i}`, 'REDEEM', 1, 4));
    await send(topics.events, events);
    await first.waitForLog('"msg":"operation started"', 4);
    await sleep(1000); // playbooks are running now
    first.child.kill('SIGKILL');
    await first.exited;

    const second = start();
    const results = await resultsFor(topics.replies, events.map((e) => String(e.event_id)), 120_000);
    expect(new Set(results.map((r) => r.event_id)).size).toBe(6);
    expect(results.every((r) => r.outcome === 'OK')).toBe(true);
    expect(slowLog(state, 'effects.log').sort()).toEqual(events.map((e) => String(e.sliver_id)).sort()); // exactly once each
    expect(slowItems(state)).toHaveLength(6);
    expect(second.log()).toContain('reaped a playbook run left behind by a dead amh process');
    expect(second.log()).toContain('reconciling');
    await expectNothingInFlight(config.kafka.brokers, topics.state, events);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(processesMentioning(root)).toEqual([]);
  });

  it('two instances share the work; when one is killed the other finishes it without double provisioning', async () => {
    const { config, topics, state, start } = await setup(2, 3);
    const a = start();
    const b = start();
    await Promise.all([a.waitForLog('"msg":"consuming"'), b.waitForLog('"msg":"consuming"')]);
    const events = Array.from({ length: 10 }, (_, i) => slowEvent(`pair-${i}`, 'REDEEM', 1, 3));
    await send(topics.events, events);
    await a.waitForLog('"msg":"operation started"', 1, 60_000);
    await sleep(1000);
    a.child.kill('SIGKILL');
    await a.exited;

    const results = await resultsFor(topics.replies, events.map((e) => String(e.event_id)), 150_000);
    expect(new Set(results.map((r) => r.event_id)).size).toBe(10);
    expect(results.every((r) => r.outcome === 'OK')).toBe(true);
    expect(slowLog(state, 'effects.log').sort()).toEqual(events.map((e) => String(e.sliver_id)).sort());
    await expectNothingInFlight(config.kafka.brokers, topics.state, events);
  });
});

/** Read the reply topic until every event id has at least one result. */
async function resultsFor(topic: string, eventIds: string[], timeoutMs: number): Promise<SliverResult[]> {
  const consumer = kafkaClient('amh-test-results').consumer({ groupId: uniqueName('results'), maxWaitTimeInMs: 500 });
  const results: SliverResult[] = [];
  const missing = new Set(eventIds);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no result within ${timeoutMs} ms for ${[...missing].join(', ')}`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const { value } = await codec.decode('result', message.value);
          results.push(value);
          missing.delete(value.event_id);
          if (missing.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return results;
  } finally {
    await consumer.disconnect();
  }
}

/** Every sliver's ledger on the state topic has its in-flight mark cleared. */
async function expectNothingInFlight(brokers: string[], topic: string, events: Record<string, unknown>[]): Promise<void> {
  await withLedgers(topic, (get) => {
    for (const e of events) {
      const ledger = get(String(e.sliver_id));
      expect(ledger, `ledger of ${String(e.sliver_id)} (${brokers.join(',')})`).toBeDefined();
      expect(ledger?.in_flight).toBeNull();
      expect(ledger?.entries.map((x) => x.event_id)).toContain(e.event_id);
    }
  });
}
