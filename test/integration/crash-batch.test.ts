import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readReplies } from '../helpers/faults.js';
import { testConfig } from '../helpers/config.js';
import { produceRaw, uniqueName } from '../helpers/kafka.js';
import { startAmhProcess, type AmhProcess } from '../helpers/process.js';
import { codec, createServiceTopics, testTopics } from '../helpers/service.js';
import { slowEvent, slowHandler, slowLog, testRoot } from '../helpers/slow.js';

// kill -9 while batched writes linger (kafka.write_batch.linger: 1s): an event's ledger answer is acknowledged
// and its reply waits in the batcher when the process dies. The restarted instance must answer every event
// exactly once, the answered one from the ledger, running its playbook no second time.
describe('batched writes survive kill -9 mid-batch', () => {
  const started: AmhProcess[] = [];
  afterAll(async () => {
    for (const p of started) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    }
  });

  it('a reply lingering in the batcher at the kill is published by the next instance, and an answered event never runs again', async () => {
    const topics = testTopics();
    await createServiceTopics(topics, 1);
    const probe = testConfig();
    const state = join(testRoot(probe), 'slow');
    const config = testConfig({
      ...slowHandler(state, { delay: 0.1 }),
      kafka: {
        brokers: probe.kafka.brokers,
        group_id: uniqueName('crash-batch'),
        topics,
        create_topics: false,
        session_timeout: '6s',
        // Every batch from an idle batcher waits a second for company: the kill lands while a reply waits.
        write_batch: { linger: '1s' },
      },
      // One at a time: the first event's reply is handed to an idle batcher while the next event runs.
      consumer: { concurrency: 1, lease_ttl: '5s' },
      logging: { level: 'debug' },
    });
    const start = (): AmhProcess => {
      const p = startAmhProcess(config.source);
      started.push(p);
      return p;
    };
    const replies = await readReplies(topics.replies);
    try {
      const first = start();
      await first.waitForLog('"msg":"consuming"');
      const events = Array.from({ length: 3 }, (_, i) => slowEvent(`batch-${i}`, 'REDEEM', 1, 0.1));
      await produceRaw(topics.events, events.map((e) => ({ key: String(e.sliver_id), value: codec.encode('event', e) })));
      // The broker acknowledged the first answer; its reply now waits in the batcher's linger.
      await first.waitForLog('"msg":"answer recorded"', 1, 90_000);
      first.child.kill('SIGKILL');
      await first.exited;
      const recorded = linesOf(first.log(), 'answer recorded').map((l) => String(l.sliverId));
      const published = linesOf(first.log(), 'result OK published').length;

      const second = start();
      const ids = events.map((e) => String(e.event_id));
      await replies.waitForAll(ids, 90_000);
      await second.waitForLog('already answered: re-publishing the stored result, running nothing', recorded.length);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);

      // The kill landed mid-batch: an answer was durable, and its reply had not left.
      expect(recorded.length).toBeGreaterThan(0);
      expect(published).toBe(0);
      // Every event answered once, OK: the lingering reply by the next instance, from the ledger.
      for (const id of ids) expect(replies.byEvent.get(id)?.map((r) => r.outcome), id).toEqual(['OK']);
      // An answered event's playbook ran once in all (order.log: one line per run); every effect happened once
      // (the event running at the kill is reconciled and run again, ensure-style).
      const runs = slowLog(state, 'order.log').map((l) => l.split(' ')[0]);
      for (const sliver of recorded) expect(runs.filter((s) => s === sliver), sliver).toHaveLength(1);
      expect(slowLog(state, 'effects.log').sort()).toEqual(events.map((e) => String(e.sliver_id)).sort());
    } finally {
      await replies.stop();
    }
  });
});

/** The JSON log lines of a process whose msg is `msg`. */
function linesOf(log: string, msg: string): Record<string, unknown>[] {
  return log
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === msg);
}
