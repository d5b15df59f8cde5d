import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import type { AvroCodec } from '../codec/codec.js';
import type { SliverLedger } from '../codec/types.js';
import { AmhError, errorMessage } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import type { LedgerStore } from './store.js';

export interface KafkaLedgerStoreOptions {
  kafka: Kafka;
  producer: Producer;
  codec: AvroCodec;
  /** The compacted state topic, co-partitioned with the events topic. */
  topic: string;
  /** Unique per process: each instance reads the whole topic with its own group. */
  instanceId: string;
  logger: Logger;
}

/**
 * Ledgers on a compacted topic keyed by sliver id. Every instance reads the
 * whole topic from the beginning and keeps following it, so it sees what the
 * others record (a table replicated through Kafka); writes are acknowledged
 * by all in-sync replicas before `put` resolves.
 */
export class KafkaLedgerStore implements LedgerStore {
  private readonly ledgers = new Map<string, SliverLedger>();
  /** Next offset to read, per partition. */
  private readonly positions = new Map<number, bigint>();
  private readonly waiters = new Set<() => void>();
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;

  constructor(private readonly o: KafkaLedgerStoreOptions) {}

  async start(): Promise<void> {
    this.admin = this.o.kafka.admin();
    await this.admin.connect();
    this.consumer = this.o.kafka.consumer({ groupId: `amh-ledger-${this.o.instanceId}`, maxWaitTimeInMs: 200 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        this.positions.set(partition, BigInt(message.offset) + 1n);
        if (message.value) await this.apply(message.value, partition, message.offset);
        for (const wake of this.waiters) wake();
      },
    });
    await this.catchUp();
  }

  async catchUp(): Promise<void> {
    if (!this.admin) throw new AmhError('ledger store not started');
    const ends = await this.admin.fetchTopicOffsets(this.o.topic);
    const behind = (): boolean =>
      ends.some((p) => BigInt(p.high) > BigInt(p.low) && (this.positions.get(p.partition) ?? BigInt(p.low)) < BigInt(p.high));
    while (behind()) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        // Compaction can remove the record just below the end: re-check now and then.
        const timer = setTimeout(wake, 500);
        this.waiters.add(wake);
      });
      if (!behind()) break;
      const fresh = await this.admin.fetchTopicOffsets(this.o.topic);
      for (const p of fresh) {
        const pos = this.positions.get(p.partition);
        // Nothing left to read below the low watermark: the rest was compacted away.
        if (pos === undefined && BigInt(p.low) >= BigInt(p.high)) this.positions.set(p.partition, BigInt(p.high));
      }
    }
  }

  get(sliverId: string): SliverLedger | undefined {
    return this.ledgers.get(sliverId);
  }

  async put(ledger: SliverLedger): Promise<void> {
    this.remember(ledger);
    await this.o.producer.send({
      topic: this.o.topic,
      acks: -1,
      messages: [{ key: ledger.sliver_id, value: this.o.codec.encode('state', ledger) }],
    });
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.consumer?.disconnect(), this.admin?.disconnect()]);
  }

  private async apply(value: Buffer, partition: number, offset: string): Promise<void> {
    try {
      const { value: ledger } = await this.o.codec.decode('state', value);
      this.remember(ledger);
    } catch (err) {
      this.o.logger.error({ err, topic: this.o.topic, partition, offset }, `unreadable ledger record skipped: ${errorMessage(err)}`);
    }
  }

  private remember(ledger: SliverLedger): void {
    const known = this.ledgers.get(ledger.sliver_id);
    if (!known || known.version <= ledger.version) this.ledgers.set(ledger.sliver_id, ledger);
  }
}
