// Benchmark topics are created the way `amh run` creates its own: missing
// ones created, then every partition waited for until its leader serves it.
// kafkajs' `waitForLeaders` alone gives up on the UNKNOWN_TOPIC_OR_PARTITION
// a loaded broker answers for a moment after creating a topic.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDist } from './dist.mjs';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * @param {import('kafkajs').Kafka} kafka
 * @param {{ topic: string, numPartitions: number, replicationFactor?: number, configEntries?: { name: string, value: string }[] }[]} specs
 */
export async function createTopicsReady(kafka, specs) {
  const { ensureTopics } = await loadDist(REPO, 'kafka/topics.js');
  const { silentLogger } = await loadDist(REPO);
  const full = specs.map((s) => ({ replicationFactor: 1, ...s }));
  await ensureTopics(kafka, full, silentLogger(), { deadlineMs: 60_000 });
}
