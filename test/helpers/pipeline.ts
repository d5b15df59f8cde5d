// A MessagePipeline with its Kafka edges replaced by fakes (an in-memory
// ledger store, a recording reply publisher and dead-letter publisher, a
// scripted executor), for fast unit tests of the fates of a message.
import type { KafkaMessage } from 'kafkajs';
import { AvroCodec, SchemaCatalog, type SchemaRegistry } from '../../src/codec/index.js';
import type { SliverEvent, SliverResult } from '../../src/codec/types.js';
import type { ExecuteOptions, Executor } from '../../src/dispatch/executor.js';
import { KeyedLanes } from '../../src/dispatch/lanes.js';
import { SlidingWindowLimit } from '../../src/kafka/rate-limit.js';
import { TypedEmitter, type ServiceEvents } from '../../src/observability/events.js';
import { silentLogger } from '../../src/observability/logger.js';
import { LedgerGate } from '../../src/pipeline/02-gate.js';
import { MessagePipeline, type Fate } from '../../src/pipeline/pipeline.js';
import { RunningOps } from '../../src/pipeline/running.js';
import { buildResult } from '../../src/results/builder.js';
import type { DeadLetter, DeadLetterPublisher } from '../../src/results/dead-letter.js';
import type { ReplyPublisher } from '../../src/results/reply-publisher.js';
import { MemoryLedgerStore } from '../../src/state/store.js';
import { vmEvent } from './events.js';

export const catalog = SchemaCatalog.load();

export interface HarnessOptions {
  concurrency?: number;
  leaseTtlMs?: number;
  maxEventBytes?: number;
  maxReplyBytes?: number;
  /** consumer.ledger_entries / ledger_replies / ledger_retention (ms) / max_ledger_bytes; default 64, 4, 7 days, 900 KiB. */
  ledgerEntries?: number;
  ledgerReplies?: number;
  retentionMs?: number;
  maxLedgerBytes?: number;
  registry?: SchemaRegistry;
  /** What the handler does; default: OK at once. */
  execute?: (event: SliverEvent, opts: ExecuteOptions) => Promise<SliverResult>;
  /** Fails the next reply sends, one error per send. */
  replyFailures?: Error[];
  deadLetterMax?: number;
}

export function pipelineHarness(o: HarnessOptions = {}) {
  const codec = new AvroCodec(catalog, o.registry);
  const store = new MemoryLedgerStore();
  const events = new TypedEmitter<ServiceEvents>();
  const replies: SliverResult[] = [];
  const replyValues: Buffer[] = [];
  const deadLetters: DeadLetter[] = [];
  const executed: SliverEvent[] = [];
  const replyFailures = [...(o.replyFailures ?? [])];
  const cancel = new AbortController();
  const hardStop = new AbortController();
  const lanes = new KeyedLanes(o.concurrency ?? 4);
  const running = new RunningOps(true);
  const gate = new LedgerGate({
    store,
    codec,
    instanceId: 'me',
    keep: o.ledgerEntries ?? 64,
    replies: o.ledgerReplies ?? 4,
    retentionMs: o.retentionMs ?? 7 * 86_400_000,
    leaseTtlMs: o.leaseTtlMs ?? 10_000,
    maxReplyBytes: o.maxReplyBytes ?? 256 * 1024,
    maxRecordBytes: o.maxLedgerBytes ?? 900 * 1024,
    logger: silentLogger(),
  });
  const executor = {
    execute: async (event: SliverEvent, opts: ExecuteOptions): Promise<SliverResult> => {
      executed.push(event);
      if (o.execute) return o.execute(event, opts);
      return buildResult(event, { outcome: 'OK', message: 'done', startedAt: 1, finishedAt: 2 });
    },
  } as unknown as Executor;
  const replyPublisher = {
    send: async (result: SliverResult, value: Buffer) => {
      const failure = replyFailures.shift();
      if (failure) throw failure;
      replies.push(result);
      replyValues.push(value);
    },
  } as unknown as ReplyPublisher;
  const deadLetterPublisher = { send: async (letter: DeadLetter) => void deadLetters.push(letter) } as unknown as DeadLetterPublisher;
  const pipeline = new MessagePipeline({
    codec,
    gate,
    executor,
    lanes,
    running,
    replies: replyPublisher,
    deadLetters: deadLetterPublisher,
    deadLetterLimit: new SlidingWindowLimit(o.deadLetterMax ?? 100, 60_000),
    maxEventBytes: o.maxEventBytes ?? 512 * 1024,
    logger: silentLogger(),
    events,
    cancel: cancel.signal,
    hardStop: hardStop.signal,
    ledgerReady: async () => undefined,
  });
  let offset = 0;
  const message = (value: Buffer | null, key: string | null = null): KafkaMessage =>
    ({ key: key === null ? null : Buffer.from(key), value, offset: String(offset++), timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;
  return {
    codec,
    store,
    gate,
    events,
    replies,
    replyValues,
    deadLetters,
    executed,
    cancel,
    hardStop,
    lanes,
    running,
    pipeline,
    /** A VM event with these fields, encoded as the AM would. */
    event: (fields: Record<string, unknown> = {}): SliverEvent => codec.complete<'event'>(catalog.current('event'), vmEvent(fields as never)),
    /** Hand one event to the pipeline as if Kafka delivered it on partition 0. */
    handle: (event: SliverEvent | Buffer | null, owned: AbortSignal = new AbortController().signal): Promise<Fate> => {
      const value = event === null || Buffer.isBuffer(event) ? event : codec.encode('event', event);
      const key = event !== null && !Buffer.isBuffer(event) ? event.sliver_id : null;
      return pipeline.handle({ topic: 'events', partition: 0, message: message(value, key), owned });
    },
  };
}

export const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
