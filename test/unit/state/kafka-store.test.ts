import type { Kafka, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog } from '../../../src/codec/index.js';
import type { SliverLedger } from '../../../src/codec/types.js';
import { FatalError } from '../../../src/errors/index.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { KafkaLedgerStore } from '../../../src/state/kafka-store.js';
import { emptyLedger } from '../../../src/state/ledger.js';
import { FakeConsumer } from '../../helpers/fake-consumer.js';

const codec = new AvroCodec(SchemaCatalog.load());
const TOPIC = 'state';

/** A Kafka whose state topic is an array: the producer appends, the fake consumer delivers what the test lets through. */
function fakeKafka() {
  const log: Buffer[] = [];
  const reader = new FakeConsumer(TOPIC);
  let sendFailure: Error | null = null;
  const producer = {
    send: async ({ messages }: { messages: { value: Buffer }[] }) => {
      if (sendFailure) throw sendFailure;
      const offset = log.length;
      log.push(messages[0]!.value);
      return [{ topicName: TOPIC, partition: 0, errorCode: 0, baseOffset: String(offset) }];
    },
  } as unknown as Producer;
  const kafka = {
    admin: () => ({ connect: async () => undefined, disconnect: async () => undefined, fetchTopicOffsets: async () => [{ partition: 0, low: '0', high: String(log.length) }] }),
    consumer: () => reader,
  } as unknown as Kafka;
  let delivered = 0;
  return {
    log,
    reader,
    producer,
    kafka,
    failSends: (err: Error | null) => (sendFailure = err),
    /** The reader reads every record appended so far. */
    readAll: async () => {
      while (delivered < log.length) await reader.deliver(0, delivered, log[delivered++]!);
    },
  };
}

const ledger = (id: string, fields: Partial<SliverLedger>): SliverLedger => ({ ...emptyLedger(id), ...fields });

describe('KafkaLedgerStore', () => {
  it('memory changes only when the write is read back; a failed write changes nothing (finding 8)', async () => {
    const k = fakeKafka();
    const store = new KafkaLedgerStore({ kafka: k.kafka, producer: k.producer, codec, topic: TOPIC, instanceId: 'me', logger: silentLogger() });
    await store.start();
    k.failSends(new Error('MESSAGE_TOO_LARGE'));
    await expect(store.update('s1', () => ledger('s1', { version: 1, writer: 'me' }))).rejects.toThrow('MESSAGE_TOO_LARGE');
    expect(store.get('s1')).toBeUndefined();
    k.failSends(null);
    const pending = store.update('s1', () => ledger('s1', { version: 1, writer: 'me' }));
    await new Promise((r) => setTimeout(r, 20));
    expect(store.get('s1')).toBeUndefined(); // acknowledged, not yet read back
    await k.readAll();
    expect(await pending).toMatchObject({ won: true, current: { version: 1, writer: 'me' } });
  });

  it('a write that lands after a higher epoch of another writer loses, is ignored, and says so', async () => {
    const k = fakeKafka();
    const store = new KafkaLedgerStore({ kafka: k.kafka, producer: k.producer, codec, topic: TOPIC, instanceId: 'me', logger: silentLogger() });
    await store.start();
    // Another instance took the sliver over (epoch 2) and its record reached the log first.
    k.log.push(codec.encode('state', ledger('s1', { epoch: 2, version: 5, writer: 'other' })));
    const pending = store.update('s1', () => ledger('s1', { epoch: 1, version: 9, writer: 'me' }));
    await new Promise((r) => setTimeout(r, 10));
    await k.readAll();
    expect(await pending).toMatchObject({ won: false, current: { epoch: 2, writer: 'other' } });
  });

  it('a ledger reader that stops for good fails the store and whatever waits on it (finding 7)', async () => {
    const k = fakeKafka();
    k.log.push(codec.encode('state', ledger('s1', { version: 1 })));
    const failures: Error[] = [];
    const store = new KafkaLedgerStore({
      kafka: k.kafka,
      producer: k.producer,
      codec,
      topic: TOPIC,
      instanceId: 'me',
      logger: silentLogger(),
      onFailure: (err) => failures.push(err),
    });
    const starting = store.start(); // waits to catch up on the record never delivered
    await new Promise((r) => setTimeout(r, 20));
    k.reader.crash(false, new Error('group authorization failed'));
    await expect(starting).rejects.toBeInstanceOf(FatalError);
    expect(failures[0]?.message).toMatch(/ledger reader of state stopped: group authorization failed/);
  });
});
