import type { Kafka } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerProbe, lagOf } from '../../../src/observability/broker-probe.js';
import { silentLogger } from '../../../src/observability/logger.js';

/** A kafkajs stand-in whose admin answers as `answer` says (per call). */
function fakeKafka(answer: () => Promise<void>): Kafka {
  const admin = {
    connect: async () => {},
    disconnect: async () => {},
    fetchTopicOffsets: async () => {
      await answer();
      return [
        { partition: 0, offset: '15', high: '15', low: '0' },
        { partition: 1, offset: '9', high: '9', low: '4' },
      ];
    },
    fetchOffsets: async () => [{ topic: 'ev', partitions: [{ partition: 0, offset: '12' }, { partition: 1, offset: '-1' }] }],
  };
  return { admin: () => admin } as unknown as Kafka;
}

const probes: BrokerProbe[] = [];
function probe(answer: () => Promise<void>): BrokerProbe {
  const p = new BrokerProbe({ kafka: fakeKafka(answer), topic: 'ev', groupId: 'g', intervalMs: 100, logger: silentLogger() });
  probes.push(p);
  p.start();
  return p;
}

afterEach(async () => {
  await Promise.all(probes.splice(0).map((p) => p.stop()));
});

describe('BrokerProbe', () => {
  it('samples end and committed offsets each round and beats', async () => {
    const p = probe(async () => {});
    await expect.poll(() => p.last?.ok).toBe(true);
    const offsets = p.last?.offsets;
    expect(offsets?.get(0)).toEqual({ low: 0n, end: 15n, committed: 12n });
    expect(offsets?.get(1)).toEqual({ low: 4n, end: 9n, committed: null });
    expect(lagOf(offsets?.get(0) as never)).toBe(3);
    expect(lagOf(offsets?.get(1) as never)).toBe(5); // no commit yet: behind from the start of the log
    expect(p.beat().lastBeatAt).toBeGreaterThan(0);
  });

  it('fails a round the broker does not answer in time, without an unhandled rejection when it fails later', async () => {
    let calls = 0;
    const p = probe(() => (calls++ === 0 ? new Promise((_, reject) => setTimeout(() => reject(new Error('coordinator gone')), 250)) : Promise.resolve()));
    await expect.poll(() => p.last?.error).toBe('no answer within 100 ms');
    await expect.poll(() => p.last?.error).toMatch(/previous probe has not answered/);
    // Once the late failure has landed, the next round asks again and the broker answers.
    await expect.poll(() => p.last?.ok, { timeout: 2000 }).toBe(true);
  });

  it('reports the broker error of a failed round; stop() is idempotent and ends the loop', async () => {
    const p = probe(() => Promise.reject(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9')));
    await expect.poll(() => p.last?.error).toBe('Connection error: connect ECONNREFUSED 127.0.0.1:9');
    const stopped = p.stop();
    expect(p.stop()).toBe(stopped);
    await stopped;
    expect(p.beat().stopped).toBeDefined();
  });
});
