import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import kafkajs, { Kafka, logLevel, type Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RetryDeadlineError } from '../../../src/errors/index.js';
import { ensureTopics } from '../../../src/kafka/topics.js';
import { silentLogger } from '../../../src/observability/logger.js';

/** A local port with nothing listening on it (connection refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('ensureTopics', () => {
  it('keeps retrying an unreachable broker only until the start-up deadline, then says what failed', async () => {
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${await closedPort()}`],
      logLevel: logLevel.NOTHING,
      // One kafkajs attempt per call, so the deadline (not kafkajs' own retries) bounds the wait.
      retry: { retries: 0 },
      connectionTimeout: 200,
    });
    const began = Date.now();
    const err = await ensureTopics(kafka, [{ topic: 't', numPartitions: 1, replicationFactor: 1 }], silentLogger(), {
      deadlineMs: 1_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryDeadlineError);
    expect((err as Error).message).toMatch(/^creating topics t still failing after 1(\.\d)? s \(\d+ attempts\): .*ECONNREFUSED/);
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it('waits through the UNKNOWN_TOPIC_OR_PARTITION a loaded broker answers right after creating a topic', async () => {
    // What failed a CI run: kafkajs' own waitForLeaders gives up on this error; ensureTopics retries it.
    let metadataCalls = 0;
    const created: string[] = [];
    const admin = {
      connect: async () => {},
      disconnect: async () => {},
      listTopics: async () => created,
      createTopics: async ({ topics }: { topics: { topic: string }[] }) => {
        created.push(...topics.map((t) => t.topic));
        return true;
      },
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
        metadataCalls += 1;
        if (metadataCalls <= 2) {
          const unknown = { type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true, message: 'This server does not host this topic-partition' };
          throw new kafkajs.KafkaJSProtocolError(unknown as unknown as Error);
        }
        return { topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1, partitionErrorCode: 0 }] })) };
      },
      fetchTopicOffsets: async () => [{ partition: 0, offset: '0', high: '0', low: '0' }],
    } as unknown as Admin;
    const kafka = { admin: () => admin } as unknown as Kafka;
    await ensureTopics(kafka, [{ topic: 'fresh', numPartitions: 1, replicationFactor: 1 }], silentLogger(), { deadlineMs: 10_000 });
    expect(created).toEqual(['fresh']);
    expect(metadataCalls).toBe(3);
  });
});
