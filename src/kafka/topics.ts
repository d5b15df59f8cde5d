import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { TransientError, errorMessage } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import { isTransient, retryTransient } from './transient.js';

const { KafkaJSAggregateError } = kafkajs;

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

export interface EnsureTopicsOptions {
  /** Keep retrying transient failures this long (config `kafka.startup_timeout`); default 60 s. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export const DEFAULT_STARTUP_TIMEOUT_MS = 60_000;

/**
 * Create the topics that do not exist yet (existing topics are left as they
 * are), then wait until every partition of every topic has a leader. Safe
 * when several instances start at once: a topic another instance created
 * first counts as created, and nobody goes on before the leaders are elected.
 * Transient failures (broker still starting, no leader yet) are retried until
 * `deadlineMs`.
 */
export async function ensureTopics(
  kafka: Kafka,
  specs: readonly TopicSpec[],
  logger: Logger,
  options: EnsureTopicsOptions = {},
): Promise<void> {
  if (specs.length === 0) return;
  const admin = kafka.admin();
  const began = Date.now();
  try {
    await retryTransient(
      `creating topics ${specs.map((s) => s.topic).join(', ')}`,
      async () => {
        await admin.connect();
        await createMissing(admin, specs, logger);
        await expectLeaders(admin, specs);
        logger.debug({ topics: specs.map((s) => s.topic), durationMs: Date.now() - began }, 'topics ready: every partition has a leader');
      },
      {
        deadlineMs: options.deadlineMs ?? DEFAULT_STARTUP_TIMEOUT_MS,
        logger,
        ...(options.signal ? { signal: options.signal } : {}),
        initialDelayMs: 100,
        maxDelayMs: 2_000,
      },
    );
  } finally {
    await admin.disconnect();
  }
}

async function createMissing(admin: Admin, specs: readonly TopicSpec[], logger: Logger): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return;
  const topics = missing.map((s) => s.topic);
  try {
    // Leaders are awaited by expectLeaders(), for every topic: kafkajs skips its own wait when another instance won the race.
    const created = await admin.createTopics({ topics: missing.map((s) => ({ ...s })), waitForLeaders: false });
    logger.info({ topics }, created ? 'created missing topics' : 'missing topics were just created by another instance');
  } catch (err) {
    if (!(err instanceof KafkaJSAggregateError)) throw err;
    // Some created by another instance meanwhile, the rest failed: only the rest matters.
    const others = err.errors.filter((e) => (e as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS');
    if (others.length === 0) {
      logger.info({ topics }, 'missing topics were just created by another instance');
      return;
    }
    if (!others.every(isTransient)) throw err;
    throw new TransientError(`creating topics: ${others.map(describeTopicError).join('; ')}`, { cause: err });
  }
}

/**
 * Throws a transient error while any partition of any topic has no leader (or the topic is not in the
 * metadata yet), or while a leader named in the metadata does not serve its partition yet: on Kafka 4.1
 * (KRaft) the metadata shows the new leader a moment before ListOffsets stops answering
 * NOT_LEADER_FOR_PARTITION, so asking every partition for its offsets is the proof that it is ready.
 */
async function expectLeaders(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
  const waiting: string[] = [];
  for (const spec of specs) {
    const partitions = topics.find((t) => t.name === spec.topic)?.partitions ?? [];
    if (partitions.length === 0) waiting.push(`${spec.topic} (no partitions yet)`);
    const leaderless = partitions.filter((p) => p.leader < 0 || p.partitionErrorCode !== 0).map((p) => p.partitionId);
    if (leaderless.length > 0) waiting.push(`${spec.topic} partitions ${leaderless.join(',')}`);
  }
  if (waiting.length > 0) throw new TransientError(`no leader yet for ${waiting.join('; ')}`);
  for (const spec of specs) await admin.fetchTopicOffsets(spec.topic);
}

function describeTopicError(e: unknown): string {
  const topic = (e as { topic?: string }).topic;
  return topic ? `${topic}: ${errorMessage(e)}` : errorMessage(e);
}
