// Proves that kafkajs 2.2.4 (unmaintained since 2023) speaks the protocol of
// the bundled Kafka 4.x broker, which dropped many old API versions (KIP-896).
// Covers every client feature the service relies on: admin topic creation,
// produce with headers, group join, manual commits, committed-offset lookup,
// and per-partition pause/resume.
import { afterEach, describe, expect, it } from 'vitest';
import type { Consumer, ConsumerGroupJoinEvent, EachMessagePayload } from 'kafkajs';
import { createTopics, kafkaClient, produceRaw, uniqueName, waitUntil, withAdmin } from '../helpers/kafka.js';

const text = (bytes: Buffer | null) => bytes?.toString('utf8') ?? null;

describe('kafkajs 2.2.4 against the bundled Kafka broker', () => {
  let consumer: Consumer | undefined;

  afterEach(async () => {
    await consumer?.disconnect();
    consumer = undefined;
  });

  function groupConsumer(groupId: string): Consumer {
    consumer = kafkaClient('amh-compat').consumer({ groupId, maxWaitTimeInMs: 500 });
    return consumer;
  }

  it('creates a topic, produces, joins a group, consumes, commits manually and reads the commit back', async () => {
    const topic = uniqueName('compat');
    const groupId = uniqueName('compat-group');
    await createTopics([topic], 1);
    await produceRaw(
      topic,
      [1, 2, 3].map((n) => ({ key: `key-${n}`, value: Buffer.from(`value-${n}`), headers: { seq: String(n) } })),
    );

    const group = groupConsumer(groupId);
    let joined: ConsumerGroupJoinEvent | undefined;
    group.on(group.events.GROUP_JOIN, (event) => (joined = event));
    // Only a crash kafkajs won't restart from is a failure; a retriable one
    // (GROUP_LOAD_IN_PROGRESS on a brand-new external broker) heals itself.
    let crash: Error | undefined;
    group.on(group.events.CRASH, ({ payload }) => {
      if (!payload.restart) crash = payload.error;
    });
    const received: EachMessagePayload[] = [];

    await group.connect();
    await group.subscribe({ topic, fromBeginning: true });
    await group.run({ autoCommit: false, eachMessage: async (payload) => void received.push(payload) });

    await waitUntil('GROUP_JOIN', () => joined !== undefined || crash !== undefined);
    expect(crash).toBeUndefined();
    expect(joined?.payload.groupId).toBe(groupId);
    expect(joined?.payload.memberAssignment).toEqual({ [topic]: [0] });

    await waitUntil('3 messages', () => received.length >= 3 || crash !== undefined);
    expect(crash).toBeUndefined();
    expect(received.map(({ message }) => text(message.key))).toEqual(['key-1', 'key-2', 'key-3']);
    expect(received.map(({ message }) => text(message.value))).toEqual(['value-1', 'value-2', 'value-3']);
    expect(received.map(({ message }) => message.headers?.seq?.toString())).toEqual(['1', '2', '3']);
    expect(received.map(({ message }) => message.offset)).toEqual(['0', '1', '2']);

    // Kafka convention: the committed offset is the *next* offset to read.
    await group.commitOffsets([{ topic, partition: 0, offset: '3' }]);

    const committed = await withAdmin((admin) => admin.fetchOffsets({ groupId, topics: [topic] }));
    expect(committed).toEqual([{ topic, partitions: [{ partition: 0, offset: '3', metadata: null }] }]);

    // Group admin calls a recovery runbook may lean on.
    const groups = await withAdmin((admin) => admin.listGroups());
    expect(groups.groups.map((g) => g.groupId)).toContain(groupId);
    const described = await withAdmin((admin) => admin.describeGroups([groupId]));
    expect(described.groups[0]?.state).toBe('Stable');
  });

  it('pauses one partition while the other keeps flowing, then resumes it', async () => {
    const topic = uniqueName('compat-pause');
    await createTopics([topic], 2);
    await produceRaw(topic, [
      { partition: 0, value: Buffer.from('p0-first') },
      { partition: 1, value: Buffer.from('p1-first') },
    ]);

    const group = groupConsumer(uniqueName('compat-pause-group'));
    const seen: string[] = [];
    await group.connect();
    await group.subscribe({ topic, fromBeginning: true });
    await group.run({
      eachMessage: async ({ partition, message }) => {
        seen.push(text(message.value) ?? 'null');
        if (partition === 0) group.pause([{ topic, partitions: [0] }]);
      },
    });

    await waitUntil('first message of each partition', () => seen.includes('p0-first') && seen.includes('p1-first'));
    expect(group.paused()).toEqual([{ topic, partitions: [0] }]);

    await produceRaw(topic, [
      { partition: 0, value: Buffer.from('p0-second') },
      { partition: 1, value: Buffer.from('p1-second') },
    ]);
    await waitUntil('p1-second (partition 1 is not paused)', () => seen.includes('p1-second'));
    // Give a paused partition several fetch rounds (maxWaitTimeInMs 500) to misbehave.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(seen).not.toContain('p0-second');

    group.resume([{ topic, partitions: [0] }]);
    await waitUntil('p0-second after resume', () => seen.includes('p0-second'));
    expect(seen.filter((value) => value === 'p0-second')).toHaveLength(1);
  });
});
