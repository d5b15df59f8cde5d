// Helpers for integration tests that talk to the real broker started by
// kafka-global-setup.ts. Every helper connects what it needs and disconnects
// it before returning, so a test never leaks clients into the next one.
import { randomBytes } from 'node:crypto';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type IHeaders,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import { inject } from 'vitest';
import { ensureTopics } from '../../src/kafka/topics.js';
import { silentLogger } from '../../src/observability/logger.js';

/** Bootstrap servers of the test broker (AMH_KAFKA_BROKERS, else what globalSetup provided). */
export function kafkaBrokers(): string[] {
  const list = process.env.AMH_KAFKA_BROKERS || inject('kafkaBrokers');
  if (!list) throw new Error('No Kafka broker: run the integration project (its globalSetup starts one) or set AMH_KAFKA_BROKERS');
  return list.split(',').map((broker) => broker.trim()).filter(Boolean);
}

// Quiet by default (failures surface as thrown errors, not log spam);
// AMH_KAFKA_TEST_LOG=debug|info|warn|error turns kafkajs logging back on.
const levels: Record<string, logLevel> = {
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};
const testLogLevel = levels[process.env.AMH_KAFKA_TEST_LOG ?? ''] ?? logLevel.NOTHING;

/** A kafkajs client for tests against the test broker. */
export function kafkaClient(clientId = 'amh-test'): Kafka {
  return new Kafka({ clientId, brokers: kafkaBrokers(), logLevel: testLogLevel });
}

/** `prefix-<time>-<random>`: each test gets its own topics and groups, so reruns never see stale data. */
export function uniqueName(prefix: string): string {
  const safePrefix = prefix.replace(/[^a-zA-Z0-9._-]/g, '-');
  return `${safePrefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaClient('amh-test-admin').admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function withProducer<T>(use: (producer: Producer) => Promise<T>): Promise<T> {
  const producer = kafkaClient('amh-test-producer').producer({
    allowAutoTopicCreation: false,
    // Explicit, so kafkajs doesn't warn about its v2 partitioner change.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    return await use(producer);
  } finally {
    await producer.disconnect();
  }
}

/**
 * Creates the topics and returns once every partition has a leader that
 * serves it, so the next produce or subscribe can't hit LEADER_NOT_AVAILABLE.
 * This is the service's own start-up path (`ensureTopics`): kafkajs'
 * `waitForLeaders` gives up on the UNKNOWN_TOPIC_OR_PARTITION a loaded broker
 * answers for a moment after creating a topic (seen once in CI).
 */
export async function createTopics(
  names: string[],
  partitions = 1,
  configs?: Record<string, string>,
): Promise<void> {
  const configEntries = Object.entries(configs ?? {}).map(([name, value]) => ({ name, value }));
  const specs = names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1, configEntries }));
  await ensureTopics(kafkaClient('amh-test-admin'), specs, silentLogger(), { deadlineMs: 30_000 });
}

export interface RawMessage {
  key?: Buffer | string | null;
  /** null is a tombstone (deletes the key on compacted topics). */
  value: Buffer | null;
  headers?: IHeaders;
  partition?: number;
}

/** Produces the messages as-is (no encoding) with acks from all in-sync replicas. */
export async function produceRaw(topic: string, messages: RawMessage[]): Promise<void> {
  await withProducer((producer) => producer.send({ topic, messages, acks: -1 }));
}

/** A kafkajs message (key, value, headers, offset, timestamp) plus where it came from. */
export type CollectedMessage = KafkaMessage & { topic: string; partition: number };

export interface CollectOptions {
  count: number;
  timeoutMs?: number;
  /** Throwaway groups have no committed offsets, so this picks earliest vs. latest. */
  fromBeginning?: boolean;
}

/**
 * Reads `count` messages from the topic with a throwaway consumer group and
 * disconnects. Throws, listing what did arrive, if fewer come within timeoutMs.
 */
export async function collectMessages(
  topic: string,
  { count, timeoutMs = 20_000, fromBeginning = true }: CollectOptions,
): Promise<CollectedMessage[]> {
  const consumer = kafkaClient('amh-test-collector').consumer({
    groupId: uniqueName('collect'),
    // Short fetch waits make disconnect() quick (it waits for the fetch in flight).
    maxWaitTimeInMs: 500,
  });
  const received: CollectedMessage[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(collectTimeout(topic, count, timeoutMs, received)), timeoutMs);
      // kafkajs only reports a dead consumer through this event (run() has already
      // resolved). restart=true means it recovers by itself (e.g. GROUP_LOAD_IN_PROGRESS).
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) reject(payload.error);
      });
      consumer
        .run({
          eachMessage: async ({ topic: from, partition, message }) => {
            if (received.length >= count) return;
            received.push({ ...message, topic: from, partition });
            if (received.length >= count) resolve();
          },
        })
        .catch(reject);
    });
    return received;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

function collectTimeout(topic: string, count: number, timeoutMs: number, got: CollectedMessage[]): Error {
  const lines = got.map(describeMessage).join('\n  ');
  return new Error(
    `collectMessages(${topic}): expected ${count} message(s) within ${timeoutMs} ms, got ${got.length}` +
      (got.length ? `:\n  ${lines}` : ''),
  );
}

/** One line per message for error output: `p0@3 key=… value=…`. */
export function describeMessage(message: CollectedMessage): string {
  return `p${message.partition}@${message.offset} key=${preview(message.key)} value=${preview(message.value)}`;
}

function preview(bytes: Buffer | null): string {
  if (bytes === null) return 'null';
  const text = bytes.subarray(0, 80).toString('utf8');
  const printable = /^[\x20-\x7e]*$/.test(text);
  const shown = printable ? JSON.stringify(text) : `0x${bytes.subarray(0, 40).toString('hex')}`;
  return bytes.length > 80 ? `${shown}… (${bytes.length} bytes)` : shown;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `predicate` holds, polling every `everyMs`; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, predicate: () => boolean, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
