import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import type { AvroCodec } from '../codec/codec.js';
import type { SliverLedger } from '../codec/types.js';
import { AmhError, TransientError, errorMessage } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import { sameWrite, supersedes } from './ledger.js';
import { ReadWaiters, describeWrite, reassert, watchReaderCrash } from './reader-support.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { LedgerStore, LedgerUpdate, UpdateOptions, WriteOutcome } from './store.js';

export interface KafkaLedgerStoreOptions {
  kafka: Kafka;
  producer: Producer;
  codec: AvroCodec;
  /** The compacted state topic, co-partitioned with the events topic. */
  topic: string;
  /** Unique per process: each instance reads the whole topic with its own group. */
  instanceId: string;
  logger: Logger;
  /** How long a write may wait to be read back, and a catch-up to finish, before it counts as a transient failure. */
  readBackTimeoutMs?: number;
  /** The reader stopped for good: the service must stop (nothing else is safe). */
  onFailure?: (err: AmhError) => void;
}

/**
 * The whole-topic ledger store of earlier versions, kept as the baseline of
 * the ledger benchmark (`bench/ledgers.mjs`); the service uses
 * `PartitionedLedgerStore`.
 *
 * Ledgers on a compacted topic keyed by sliver id. Every instance reads the
 * whole topic from the beginning and keeps following it, so it sees what the
 * others record (a table replicated through Kafka).
 *
 * Memory changes only through the reader: `update` produces the record
 * (acks from all in-sync replicas), then waits until the reader has applied
 * that offset, and reports whether the write won. Readers order records by
 * (epoch, version), so a write from an owner whose lease was taken over is
 * ignored everywhere; on a tie the record first in the log wins. When this
 * instance sees a losing record arrive after its own winning one, it writes
 * its record again, so that compaction (which keeps the last record) keeps
 * the winner.
 */
export class KafkaLedgerStore implements LedgerStore {
  private readonly ledgers = new Map<string, SliverLedger>();
  /** Next offset to read, per partition. */
  private readonly positions = new Map<number, bigint>();
  private readonly reads = new ReadWaiters();
  private readonly mutex = new KeyedMutex();
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  private failure: AmhError | null = null;
  private stopped = false;

  constructor(private readonly o: KafkaLedgerStoreOptions) {}

  private get timeoutMs(): number {
    return this.o.readBackTimeoutMs ?? 30_000;
  }

  /** Connects, starts the reader and catches up. Safe to call again after a failure (start-up retries it). */
  async start(): Promise<void> {
    this.admin ??= this.o.kafka.admin();
    await this.admin.connect();
    if (!this.consumer) {
      const consumer = this.o.kafka.consumer({ groupId: `amh-ledger-${this.o.instanceId}`, maxWaitTimeInMs: 200 });
      watchReaderCrash(consumer, this.o.topic, this.o.logger, (err) => this.fail(err));
      try {
        await consumer.connect();
        await consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            if (message.value) await this.apply(message.value, partition, message.offset);
            this.positions.set(partition, BigInt(message.offset) + 1n);
            this.reads.wakeAll();
          },
        });
      } catch (err) {
        await consumer.disconnect().catch(() => undefined);
        throw err;
      }
      this.consumer = consumer;
    }
    await this.catchUp();
  }

  async catchUp(): Promise<void> {
    if (!this.admin) throw new AmhError('ledger store not started');
    const admin = this.admin;
    const deadline = Date.now() + this.timeoutMs;
    let ends = await admin.fetchTopicOffsets(this.o.topic);
    const behind = (): boolean =>
      ends.some((p) => BigInt(p.high) > BigInt(p.low) && (this.positions.get(p.partition) ?? BigInt(p.low)) < BigInt(p.high));
    while (behind()) {
      this.throwIfFailed();
      if (Date.now() > deadline) throw new TransientError(`ledger catch-up of ${this.o.topic} did not finish within ${this.timeoutMs} ms`);
      await this.reads.next(500);
      if (!behind()) break;
      // Compaction can remove the records just below the end: skip what is no longer there.
      ends = await admin.fetchTopicOffsets(this.o.topic);
      for (const p of ends) {
        if (this.positions.get(p.partition) === undefined && BigInt(p.low) >= BigInt(p.high)) this.positions.set(p.partition, BigInt(p.high));
      }
    }
  }

  get(sliverId: string): SliverLedger | undefined {
    return this.ledgers.get(sliverId);
  }

  update(sliverId: string, next: LedgerUpdate, options: UpdateOptions = {}): Promise<WriteOutcome> {
    return this.mutex.run(sliverId, async () => {
      this.throwIfFailed();
      const record = next(this.ledgers.get(sliverId));
      if (!record) return { won: false, current: this.ledgers.get(sliverId) };
      await this.write(record, options.confirm ?? 'read-back');
      const current = this.ledgers.get(sliverId);
      return { won: sameWrite(current, record), current };
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reads.wakeAll();
    await Promise.allSettled([this.consumer?.disconnect(), this.admin?.disconnect()]);
  }

  /** Produce, then wait until the reader has applied that offset (or, with 'ack', apply it at once). */
  private async write(record: SliverLedger, confirm: 'read-back' | 'ack'): Promise<void> {
    const [meta] = await this.o.producer.send({
      topic: this.o.topic,
      acks: -1,
      messages: [{ key: record.sliver_id, value: this.o.codec.encode('state', record) }],
    });
    if (confirm === 'ack') {
      if (supersedes(record, this.ledgers.get(record.sliver_id))) this.ledgers.set(record.sliver_id, record);
      return;
    }
    if (!meta?.baseOffset) throw new AmhError(`no offset returned for the ledger write of ${record.sliver_id}`);
    const partition = meta.partition;
    const offset = BigInt(meta.baseOffset);
    const deadline = Date.now() + this.timeoutMs;
    while ((this.positions.get(partition) ?? -1n) <= offset) {
      this.throwIfFailed();
      if (this.stopped) throw new TransientError('ledger store stopped before a write was read back');
      if (Date.now() > deadline) {
        throw new TransientError(`ledger write of ${record.sliver_id} (${this.o.topic}/${partition}@${offset}) not read back within ${this.timeoutMs} ms`);
      }
      await this.reads.next(1000);
    }
  }

  private async apply(value: Buffer, partition: number, offset: string): Promise<void> {
    let record: SliverLedger;
    try {
      record = (await this.o.codec.decode('state', value)).value;
    } catch (err) {
      this.o.logger.error({ err, topic: this.o.topic, partition, offset }, `unreadable ledger record skipped: ${errorMessage(err)}`);
      return;
    }
    const known = this.ledgers.get(record.sliver_id);
    if (supersedes(record, known)) {
      this.ledgers.set(record.sliver_id, record);
      return;
    }
    if (known && sameWrite(known, record)) return; // our own write, retried
    this.o.logger.warn(
      { sliverId: record.sliver_id, ignored: describeWrite(record), holds: known ? describeWrite(known) : null, partition, offset },
      'ledger record from a superseded writer ignored',
    );
    if (known && known.writer === this.o.instanceId) this.reassert(known);
  }

  /** Write our winning record again after a losing one, so the log's last record (what compaction keeps) is the winner. */
  private reassert(known: SliverLedger): void {
    void this.update(known.sliver_id, reassert(this.o.instanceId, known)).catch((err: unknown) =>
      this.o.logger.warn({ err, sliverId: known.sliver_id }, 'could not re-assert a ledger record; the next write will'),
    );
  }


  private fail(err: AmhError): void {
    if (this.failure) return;
    this.failure = err;
    this.o.logger.fatal({ err }, err.message);
    this.reads.wakeAll();
    this.o.onFailure?.(err);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

