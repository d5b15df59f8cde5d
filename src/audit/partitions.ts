import { Partitioners } from 'kafkajs';

const murmur2 = Partitioners.DefaultPartitioner();

/**
 * The partition a key lands on, as the producers' murmur2 partitioner puts it (the Java client's default,
 * kafkajs' DefaultPartitioner): the events of a sliver, its ledger and its orphan key share it.
 */
export function partitionOfKey(key: string, partitionCount: number): number {
  const partitionMetadata = Array.from({ length: partitionCount }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0], offlineReplicas: [] }));
  return murmur2({ topic: 'amh', partitionMetadata, message: { key, value: null } });
}
