import { Partitioners } from 'kafkajs';

const partitioner = Partitioners.DefaultPartitioner();
const layouts = new Map<number, { partitionId: number; leader: number; replicas: number[]; isr: number[]; partitionErrorCode: number; offlineReplicas: number[] }[]>();

/**
 * The partition the producer's default partitioner (murmur2 of the key, as the Java client) puts a keyed
 * record in, for a topic of `partitions` partitions. Lets a writer name the partition itself, so a batched
 * write knows its record's own offset (WriteBatcher).
 */
export function partitionOf(topic: string, key: string, partitions: number): number {
  let layout = layouts.get(partitions);
  if (!layout) {
    layout = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [] }));
    layouts.set(partitions, layout);
  }
  return partitioner({ topic, partitionMetadata: layout, message: { key, value: null } });
}
