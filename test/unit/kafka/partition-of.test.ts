import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KeyPartitioner, murmur2, partitionOf } from '../../../src/kafka/partition-of.js';

// The oracle: kafkajs' own murmur2 (64-bit Longs), what its DefaultPartitioner hashes keys with.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;

const layout = (n: number, leaderless: number[] = []): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: leaderless.includes(partitionId) ? -1 : 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [] }));

/** Keys of every length 0..40 (each remainder mod 4), ASCII, multi-byte UTF-8, ids as the service names slivers, and raw bytes. */
function keys(): (string | Buffer)[] {
  const out: (string | Buffer)[] = ['', 'a', 'ab', 'abc', 'abcd', 'sliver-1', 'VM:stray', '5f0c8a3e-2c61-4b2e-9d1a-0d1f3c5e7a90', 'émetteur-ü-€', '日本語のスライバー', '🙂x'];
  for (let len = 0; len <= 40; len++) {
    for (let i = 0; i < 25; i++) {
      out.push(randomBytes(len));
      out.push(randomBytes(len).toString('base64').slice(0, len));
    }
  }
  for (let i = 0; i < 2000; i++) out.push(`bench-${i.toString(36)}-${i}`);
  return out;
}

describe('murmur2', () => {
  it("is kafkajs' (the Java client's) murmur2 for every key: strings as UTF-8, buffers as they are, high bytes included", () => {
    const all = keys();
    const differ = all.filter((k) => murmur2(k) !== kafkajsMurmur2(k));
    expect(differ.map((k) => (Buffer.isBuffer(k) ? k.toString('hex') : k))).toEqual([]);
    // Both signs occur: the result is a signed 32-bit integer, as Java's.
    expect(all.some((k) => murmur2(k) < 0) && all.some((k) => murmur2(k) > 0)).toBe(true);
  });
});

describe('partitionOf', () => {
  it("names the partition kafkajs' DefaultPartitioner picks for a key, for 1 to 12 partitions", () => {
    const reference = Partitioners.DefaultPartitioner();
    for (let n = 1; n <= 12; n++) {
      const partitionMetadata = layout(n);
      for (let i = 0; i < 300; i++) {
        const key = `sliver-${n}-${i}`;
        expect(partitionOf(key, n)).toBe(reference({ topic: 't', partitionMetadata, message: { key, value: null } }));
      }
    }
  });
});

describe('KeyPartitioner', () => {
  it('keeps a partition the message names, hashes a key, and spreads keyless messages over the partitions with a leader', () => {
    const partitioner = KeyPartitioner();
    const partitionMetadata = layout(4, [2]);
    expect(partitioner({ topic: 't', partitionMetadata, message: { key: 'sliver-1', value: null, partition: 3 } })).toBe(3);
    expect(partitioner({ topic: 't', partitionMetadata, message: { key: 'sliver-1', value: null } })).toBe(partitionOf('sliver-1', 4));
    const keyless = new Set<number>();
    for (let i = 0; i < 30; i++) keyless.add(partitioner({ topic: 't', partitionMetadata, message: { value: 'x' } }));
    expect([...keyless].sort()).toEqual([0, 1, 3]);
    // No partition with a leader: still one of the topic's partitions.
    const none = layout(3, [0, 1, 2]);
    const p = partitioner({ topic: 'u', partitionMetadata: none, message: { value: 'x' } });
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThan(3);
  });
});
