import type { ICustomPartitioner } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`, kafkajs' default partitioner's hash) of a key's UTF-8
 * bytes, as a signed 32-bit integer. In 32-bit arithmetic (`Math.imul`): kafkajs' own does it in 64-bit
 * `Long`s and keeps the low 32 bits, the same number at several times the cost, on every keyed record.
 */
export function murmur2(key: string | Buffer): number {
  const data = typeof key === 'string' ? Buffer.from(key) : key;
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  switch (length & 3) {
    case 3:
      h ^= (data[whole + 2] as number) << 16;
    // falls through
    case 2:
      h ^= (data[whole + 1] as number) << 8;
    // falls through
    case 1:
      h ^= data[whole] as number;
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition of a keyed record in a topic of `partitions` partitions, as the default partitioner (murmur2
 * of the key, as the Java client) puts it: the events of a sliver, its ledger and its orphan key share it.
 * Lets a writer name the partition itself, so a batched write knows its record's own offset (WriteBatcher).
 */
export function partitionOf(key: string | Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * kafkajs' `Partitioners.DefaultPartitioner` with the hash above: the partition a message names, else its
 * key's, else round robin over the partitions with a leader (from a random start per topic). The service's
 * producers use it, so every keyed record lands where `partitionOf` says.
 */
export const KeyPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) return partitionOf(message.key, partitionMetadata.length);
    const next = (counters.get(topic) ?? Math.floor(Math.random() * 0x7fffffff)) + 1;
    counters.set(topic, next);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    if (available.length > 0) return (available[(next & 0x7fffffff) % available.length] as { partitionId: number }).partitionId;
    return (next & 0x7fffffff) % partitionMetadata.length;
  };
};
