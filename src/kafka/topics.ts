import type { Kafka } from 'kafkajs';
import type { Logger } from '../observability/logger.js';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

/** Create the topics that do not exist yet; existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[], logger: Logger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    await admin.createTopics({ topics: missing.map((s) => ({ ...s })), waitForLeaders: true });
    logger.info({ topics: missing.map((s) => s.topic) }, 'created missing topics');
  } finally {
    await admin.disconnect();
  }
}
