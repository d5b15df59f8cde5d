import type { Message, Producer, ProducerRecord, RecordMetadata } from 'kafkajs';

/** Bounds of one produce request of the batcher (`kafka.write_batch`). */
export interface WriteBatchSettings {
  /** How long the first record of an idle batcher waits for others before the request goes out (0: the same tick only). */
  lingerMs: number;
  /** At most this many records in one request. */
  maxCount: number;
  /** At most this many bytes (keys, values and headers) in one request; a larger single record goes alone. */
  maxBytes: number;
  /** Requests out at once (default 1). Order still holds for a caller that waits for a write before the next. */
  maxInFlight?: number;
}

/** Where one record landed: exact when the caller chose its partition, else only that it was acknowledged. */
export interface WrittenRecord {
  topic: string;
  /** The partition, when the caller set `message.partition`; null otherwise. */
  partition: number | null;
  /** The record's own offset, when its partition is known. */
  offset: bigint | null;
}

interface Pending {
  topic: string;
  message: Message;
  bytes: number;
  resolve: (written: WrittenRecord) => void;
  reject: (err: unknown) => void;
}

/**
 * Acknowledged writes of many callers in few produce requests (Kafka's own
 * linger.ms / batch.size, which kafkajs lacks): ledger marks, ledger answers
 * and replies of events finishing at about the same moment go out in one
 * `sendBatch` across topics, acks from all in-sync replicas.
 *
 * At most `maxInFlight` requests are out at a time (default 1). Records
 * arriving while they are out wait and go in the next request as soon as one
 * is back (they have lingered already), so batches grow with load; an idle
 * batcher waits `lingerMs` for company. Order is the callers' to keep, and
 * they keep it by waiting: a caller that waits for its write before handing
 * in the next (the ledger answer before the reply, one write per sliver at a
 * time) gets them in the log in that order, whatever else shares the
 * requests. Within one request, records keep the order they were handed in
 * (kafkajs groups them per partition in order, so offsets within a partition
 * follow it).
 *
 * A failed request fails every record in it; each caller retries its own
 * write (a write that failed may still be in the log, as with a single send:
 * readers order ledger records by epoch and version, and replies are
 * at-least-once).
 */
export class WriteBatcher {
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private timer: (() => void) | null = null;
  private readonly requests = new Set<Promise<void>>();
  private stopped = false;
  /** Requests sent and records written so far (metrics, tests, the bench). */
  readonly stats = { requests: 0, records: 0, maxRecords: 0 };

  constructor(
    private readonly producer: Pick<Producer, 'sendBatch'>,
    private readonly settings: WriteBatchSettings,
  ) {}

  /** One record; resolves once the request that carried it was acknowledged. */
  write(topic: string, message: Message): Promise<WrittenRecord> {
    if (this.stopped) return Promise.reject(new Error('write batcher stopped'));
    return new Promise<WrittenRecord>((resolve, reject) => {
      const bytes = sizeOf(message);
      this.queue.push({ topic, message, bytes, resolve, reject });
      this.queuedBytes += bytes;
      this.schedule();
    });
  }

  /**
   * The batcher behind kafkajs' `send` shape, for publishers written against a producer (acks are always
   * from all in-sync replicas). One metadata entry per message, in order; `baseOffset` is the message's own
   * offset when it named its partition, else '-1'.
   */
  asProducer(): Pick<Producer, 'send'> {
    return {
      // One message (a reply) is the common case: its write alone, without Promise.all around it.
      send: ({ topic, messages }: ProducerRecord): Promise<RecordMetadata[]> =>
        messages.length === 1
          ? this.write(topic, messages[0] as Message).then((w) => [metadataOf(w)])
          : Promise.all(messages.map((m) => this.write(topic, m))).then((written) => written.map(metadataOf)),
    };
  }

  /** Resolves when everything handed in so far was sent (acknowledged or failed). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.requests.size > 0) {
      if (this.requests.size === 0) this.launch();
      await Promise.all(this.requests);
    }
  }

  /** Sends what is queued, then refuses new writes. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.flush();
  }

  private get maxInFlight(): number {
    return Math.max(1, this.settings.maxInFlight ?? 1);
  }

  private get full(): boolean {
    return this.queue.length >= this.settings.maxCount || this.queuedBytes >= this.settings.maxBytes;
  }

  private schedule(): void {
    if (this.requests.size >= this.maxInFlight) return; // goes out when a request is back
    if (this.full) {
      this.launch();
      return;
    }
    if (this.timer) return;
    const linger = (): void => {
      this.timer = null;
      this.launch();
    };
    if (this.settings.lingerMs > 0) {
      const t = setTimeout(linger, this.settings.lingerMs);
      this.timer = () => clearTimeout(t);
    } else {
      const t = setImmediate(linger);
      this.timer = () => clearImmediate(t);
    }
  }

  /** Sends what is queued, as many requests as the bounds and `maxInFlight` allow. */
  private launch(): void {
    this.timer?.();
    this.timer = null;
    while (this.queue.length > 0 && this.requests.size < this.maxInFlight) {
      const request: Promise<void> = this.send(this.take()).finally(() => {
        this.requests.delete(request);
        // Handed in while requests were out: it has waited for them, so it goes now.
        if (this.queue.length > 0) this.launch();
      });
      this.requests.add(request);
    }
  }

  /** The oldest records within the bounds (at least one). */
  private take(): Pending[] {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < this.settings.maxCount) {
      const next = this.queue[count] as Pending;
      if (count > 0 && bytes + next.bytes > this.settings.maxBytes) break;
      bytes += next.bytes;
      count++;
    }
    const batch = this.queue.slice(0, count);
    this.queue = this.queue.slice(count);
    this.queuedBytes -= bytes;
    return batch;
  }

  private async send(batch: Pending[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) {
      const messages = byTopic.get(p.topic);
      if (messages) messages.push(p.message);
      else byTopic.set(p.topic, [p.message]);
    }
    this.stats.requests++;
    this.stats.records += batch.length;
    this.stats.maxRecords = Math.max(this.stats.maxRecords, batch.length);
    let metadata: RecordMetadata[];
    try {
      metadata = await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    // Offsets: each topic-partition's base offset, then one more per record of it, in the order handed in.
    const next = new Map<string, bigint>();
    for (const m of metadata) if (m.baseOffset !== undefined) next.set(`${m.topicName}\u0000${m.partition}`, BigInt(m.baseOffset));
    for (const p of batch) {
      const partition = p.message.partition ?? null;
      let offset: bigint | null = null;
      if (partition !== null) {
        const k = `${p.topic}\u0000${partition}`;
        const at = next.get(k);
        if (at !== undefined) {
          offset = at;
          next.set(k, at + 1n);
        }
      }
      p.resolve({ topic: p.topic, partition, offset });
    }
  }
}

function metadataOf(w: WrittenRecord): RecordMetadata {
  return { topicName: w.topic, partition: w.partition ?? -1, errorCode: 0, baseOffset: w.offset === null ? '-1' : w.offset.toString() };
}

function sizeOf(message: Message): number {
  let bytes = 0;
  const add = (v: unknown): void => {
    if (typeof v === 'string') bytes += Buffer.byteLength(v);
    else if (Buffer.isBuffer(v)) bytes += v.length;
  };
  add(message.key);
  add(message.value);
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    add(k);
    if (Array.isArray(v)) v.forEach(add);
    else add(v);
  }
  return bytes;
}
