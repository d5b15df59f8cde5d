import type { Message, ProducerBatch, RecordMetadata } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { partitionOf } from '../../../src/kafka/partition-of.js';
import { WriteBatcher } from '../../../src/kafka/write-batcher.js';

/** A broker-like fake: appends each request's records to per-partition logs; its answers can be held back or failed. */
class FakeProducer {
  readonly requests: { topic: string; messages: Message[] }[][] = [];
  readonly logs = new Map<string, Message[]>();
  failNext: Error | null = null;
  private held: (() => void)[] = [];
  hold = false;

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const topicMessages = (batch.topicMessages ?? []).map((t) => ({ topic: t.topic, messages: [...t.messages] }));
    this.requests.push(topicMessages);
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
    const meta: RecordMetadata[] = [];
    for (const { topic, messages } of topicMessages) {
      const byPartition = new Map<number, Message[]>();
      for (const m of messages) {
        const p = m.partition ?? 0;
        byPartition.set(p, [...(byPartition.get(p) ?? []), m]);
      }
      for (const [partition, ms] of byPartition) {
        const log = this.logs.get(`${topic}/${partition}`) ?? [];
        meta.push({ topicName: topic, partition, errorCode: 0, baseOffset: String(log.length) });
        log.push(...ms);
        this.logs.set(`${topic}/${partition}`, log);
      }
    }
    return meta;
  }

  release(): void {
    for (const r of this.held.splice(0)) r();
  }

  sizes(): number[] {
    return this.requests.map((r) => r.reduce((n, t) => n + t.messages.length, 0));
  }
}

const msg = (key: string, value = 'v', partition?: number): Message => ({ key, value, ...(partition === undefined ? {} : { partition }) });

describe('WriteBatcher', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an idle batcher waits the linger for company, then sends everything in one request', async () => {
    vi.useFakeTimers();
    const producer = new FakeProducer();
    const batcher = new WriteBatcher(producer, { lingerMs: 50, maxCount: 100, maxBytes: 1 << 20 });
    const a = batcher.write('state', msg('a'));
    await vi.advanceTimersByTimeAsync(20);
    const b = batcher.write('replies', msg('b'));
    await vi.advanceTimersByTimeAsync(20);
    expect(producer.requests).toHaveLength(0); // 40 ms in: still lingering
    await vi.advanceTimersByTimeAsync(15);
    await Promise.all([a, b]);
    expect(producer.requests).toHaveLength(1);
    expect(producer.requests[0]?.map((t) => t.topic)).toEqual(['state', 'replies']);
  });

  it('a full batch goes at once, without lingering, and is cut at the count and byte bounds', async () => {
    vi.useFakeTimers();
    const producer = new FakeProducer();
    const byCount = new WriteBatcher(producer, { lingerMs: 10_000, maxCount: 3, maxBytes: 1 << 20 });
    const writes = Array.from({ length: 7 }, (_, i) => byCount.write('t', msg(`k${i}`)));
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all(writes);
    expect(producer.sizes()).toEqual([3, 3, 1]);

    const bytes = new FakeProducer();
    const byBytes = new WriteBatcher(bytes, { lingerMs: 10_000, maxCount: 100, maxBytes: 250 });
    const big = 'x'.repeat(99); // 100 bytes with its one-byte key
    const more = [byBytes.write('t', msg('a', big)), byBytes.write('t', msg('b', big)), byBytes.write('t', msg('c', 'y'.repeat(400))), byBytes.write('t', msg('d', big))];
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all(more);
    // 200 bytes, then the 400-byte record alone (larger than the bound by itself), then the last one.
    expect(bytes.requests.map((r) => r[0]?.messages.map((m) => m.key))).toEqual([['a', 'b'], ['c'], ['d']]);
  });

  it('records handed in while a request is out go in the next request, right after it', async () => {
    const producer = new FakeProducer();
    producer.hold = true;
    const batcher = new WriteBatcher(producer, { lingerMs: 0, maxCount: 100, maxBytes: 1 << 20 });
    const first = batcher.write('t', msg('a'));
    await new Promise((r) => setImmediate(r));
    expect(producer.requests).toHaveLength(1);
    const later = [batcher.write('t', msg('b')), batcher.write('t', msg('c'))];
    await new Promise((r) => setTimeout(r, 5));
    expect(producer.requests).toHaveLength(1); // one request in flight at a time
    producer.hold = false;
    producer.release();
    await Promise.all([first, ...later]);
    expect(producer.sizes()).toEqual([1, 2]);
  });

  it('a failed request fails every record in it; the next request is sent as usual', async () => {
    const producer = new FakeProducer();
    const batcher = new WriteBatcher(producer, { lingerMs: 1, maxCount: 100, maxBytes: 1 << 20 });
    const boom = new Error('NOT_ENOUGH_REPLICAS');
    producer.failNext = boom;
    const failed = await Promise.allSettled([batcher.write('state', msg('a')), batcher.write('replies', msg('b')), batcher.write('state', msg('c'))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(failed.map((r) => (r.status === 'rejected' ? r.reason : null))).toEqual([boom, boom, boom]);
    const ok = await batcher.write('state', msg('a', 'again', 0));
    expect(ok).toEqual({ topic: 'state', partition: 0, offset: 0n });
  });

  it('keeps the order of a key: offsets follow the order handed in, within a request and across requests', async () => {
    const producer = new FakeProducer();
    const batcher = new WriteBatcher(producer, { lingerMs: 1, maxCount: 2, maxBytes: 1 << 20 });
    const p = partitionOf('sliver-1', 3);
    const written = await Promise.all(['mark', 'answer', 'renewal', 'answer2', 'last'].map((v) => batcher.write('state', msg('sliver-1', v, p))));
    expect(written.map((w) => w.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(producer.logs.get(`state/${p}`)?.map((m) => m.value)).toEqual(['mark', 'answer', 'renewal', 'answer2', 'last']);
    // A write handed in after another resolved (the answer before its reply) is in a later request.
    const answer = await batcher.write('state', msg('sliver-2', 'answer', 1));
    const before = producer.requests.length;
    await batcher.write('replies', msg('sliver-2', 'reply'));
    expect(producer.requests.length).toBe(before + 1);
    expect(answer.offset).toBe(0n);
  });

  it('serves publishers written against kafkajs send(), and stop() sends what is queued, then refuses', async () => {
    const producer = new FakeProducer();
    const batcher = new WriteBatcher(producer, { lingerMs: 1_000, maxCount: 100, maxBytes: 1 << 20 });
    const meta = batcher.asProducer().send({ topic: 'replies', messages: [msg('x', 'one', 2), msg('y')] });
    const single = batcher.asProducer().send({ topic: 'replies', messages: [msg('w', 'two', 2)] });
    await batcher.stop();
    expect(await meta).toEqual([
      { topicName: 'replies', partition: 2, errorCode: 0, baseOffset: '0' },
      { topicName: 'replies', partition: -1, errorCode: 0, baseOffset: '-1' },
    ]);
    expect(await single).toEqual([{ topicName: 'replies', partition: 2, errorCode: 0, baseOffset: '1' }]);
    await expect(batcher.write('replies', msg('z'))).rejects.toThrow(/stopped/);
    await expect(batcher.asProducer().send({ topic: 'replies', messages: [msg('z')] })).rejects.toThrow(/stopped/);
    expect(batcher.stats).toEqual({ requests: 1, records: 3, maxRecords: 3 });
  });
});
