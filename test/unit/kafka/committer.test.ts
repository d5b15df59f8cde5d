import { describe, expect, it } from 'vitest';
import { Committer } from '../../../src/kafka/committer.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { FakeConsumer } from '../../helpers/fake-consumer.js';

const T = 'events';

describe('Committer', () => {
  it('never strands a commit asked for while the previous batch finishes (finding 12)', async () => {
    for (let depth = 0; depth < 8; depth++) {
      const consumer = new FakeConsumer(T);
      consumer.join([0]);
      let asked = false;
      const committer: Committer = new Committer(consumer.asConsumer(), silentLogger(), () => true, () => {
        if (asked) return;
        asked = true;
        // Ask again a few microtasks after the broker accepted the first batch: the window in which drain() has
        // found nothing left but has not yet let go of its flushing promise.
        let p: Promise<unknown> = Promise.resolve();
        for (let i = 0; i < depth; i++) p = p.then(() => undefined);
        void p.then(() => committer.commit(T, 0, 9n));
      });
      await committer.commit(T, 0, 5n);
      await new Promise((r) => setTimeout(r, 20));
      await committer.flush();
      expect(consumer.committed().get(0), `asked again ${depth} microtasks later`).toBe('9');
    }
  });

  it('commits only partitions it owns when the batch is sent, and keeps retrying failures while it owns them', async () => {
    const consumer = new FakeConsumer(T);
    consumer.join([0, 1]);
    const owned = new Set([0, 1]);
    const committer = new Committer(consumer.asConsumer(), silentLogger(), (_t, p) => owned.has(p));
    consumer.failCommits = new Error('coordinator moved');
    const pending = committer.commit(T, 0, 3n);
    void committer.commit(T, 1, 4n);
    await new Promise((r) => setTimeout(r, 50));
    owned.delete(1); // revoked while its commit was being retried
    consumer.failCommits = null;
    await pending;
    await committer.flush();
    expect(consumer.committed()).toEqual(new Map([[0, '3']]));
  });

  it('drops a request once the ownership period it was earned in ended, even if the partition is ours again', async () => {
    const consumer = new FakeConsumer(T);
    consumer.join([0]);
    const committer = new Committer(consumer.asConsumer(), silentLogger(), () => true);
    const old = new AbortController();
    consumer.failCommits = new Error('not the coordinator');
    const pending = committer.commit(T, 0, 8n, old.signal);
    await new Promise((r) => setTimeout(r, 50));
    old.abort(); // a new member now: its own commits start from the group's committed offset
    consumer.failCommits = null;
    await pending;
    await committer.flush();
    expect(consumer.committed().get(0)).toBeUndefined();
    const current = new AbortController();
    await committer.commit(T, 0, 6n, current.signal);
    expect(consumer.committed().get(0)).toBe('6');
  });

  it('flush gives up after its timeout', async () => {
    const consumer = new FakeConsumer(T);
    consumer.failCommits = new Error('down');
    const committer = new Committer(consumer.asConsumer(), silentLogger(), () => true);
    void committer.commit(T, 0, 1n);
    expect(await committer.flush(100)).toBe(false);
  });
});
