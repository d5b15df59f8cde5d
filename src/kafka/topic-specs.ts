import type { ParsedConfig } from '../config/index.js';
import type { TopicSpec } from './topics.js';

/**
 * The compacted state topic: segments roll hourly and the cleaner runs once a
 * tenth of the log is superseded, so a restore reads about one record per
 * sliver (with Kafka's defaults, a week-long 1 GiB segment is never
 * compacted), and tombstones of deleted ledgers go after a day.
 */
export const STATE_TOPIC_CONFIG = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'segment.ms', value: String(3_600_000) },
  { name: 'min.cleanable.dirty.ratio', value: '0.1' },
  { name: 'delete.retention.ms', value: String(86_400_000) },
];

/** The optional progress topic (`kafka.topics.progress`): live task progress, kept a day. */
export const PROGRESS_TOPIC_CONFIG = [{ name: 'retention.ms', value: String(86_400_000) }];

export type TopicRole = 'events' | 'replies' | 'dead_letter' | 'drift' | 'state' | 'progress';

/** A topic as the service needs it: what `amh run` and `amh topics create` create and `amh doctor` checks. */
export interface ExpectedTopic extends TopicSpec {
  role: TopicRole;
  /** `compact` for the state topic only: compacting the others would drop a sliver's earlier events and replies. */
  cleanupPolicy: 'compact' | 'delete';
  /** Config path of its name, for messages. */
  configPath: string;
}

/**
 * The topics of a configuration (five, and the progress topic when configured), each with `kafka.partitions` partitions. The state topic has the same
 * partition count as the events topic (co-partitioned), so a sliver's ledger sits on the partition number of its
 * events and the owner of an events partition restores exactly the ledgers it needs.
 */
export function expectedTopics(kafka: Pick<ParsedConfig['kafka'], 'partitions' | 'replication_factor' | 'topics'>): ExpectedTopic[] {
  const spec = { numPartitions: kafka.partitions, replicationFactor: kafka.replication_factor };
  const plain = (role: Exclude<TopicRole, 'state' | 'progress'>): ExpectedTopic => ({
    role,
    topic: kafka.topics[role],
    ...spec,
    cleanupPolicy: 'delete',
    configPath: `kafka.topics.${role}`,
  });
  return [
    plain('events'),
    plain('replies'),
    plain('dead_letter'),
    plain('drift'),
    ...(kafka.topics.progress
      ? [{ role: 'progress' as const, topic: kafka.topics.progress, ...spec, configEntries: PROGRESS_TOPIC_CONFIG, cleanupPolicy: 'delete' as const, configPath: 'kafka.topics.progress' }]
      : []),
    { role: 'state', topic: kafka.topics.state, ...spec, configEntries: STATE_TOPIC_CONFIG, cleanupPolicy: 'compact', configPath: 'kafka.topics.state' },
  ];
}

/** Only what kafkajs' createTopics takes. */
export function toTopicSpec(t: ExpectedTopic): TopicSpec {
  return { topic: t.topic, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor, ...(t.configEntries ? { configEntries: t.configEntries } : {}) };
}
