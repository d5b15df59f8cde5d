import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
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
});
