import type { Consumer, EachMessagePayload, KafkaMessage } from 'kafkajs';
import type { AvroCodec } from '../codec/codec.js';
import type { SliverEvent } from '../codec/types.js';
import type { KeyedLanes } from '../dispatch/lanes.js';
import { AmhError, DecodeError, errorMessage } from '../errors/index.js';
import type { ServiceEvents, TypedEmitter } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { DeadLetterPublisher } from '../results/dead-letter.js';
import type { ReplyPublisher } from '../results/reply-publisher.js';
import type { LedgerGuard } from '../state/guard.js';
import { Committer } from './committer.js';
import { OffsetTracker } from './offset-tracker.js';
import type { SlidingWindowLimit } from './rate-limit.js';
import { Supersession } from './supersession.js';

export interface ConsumerRunnerOptions {
  consumer: Consumer;
  topic: string;
  codec: AvroCodec;
  guard: LedgerGuard;
  lanes: KeyedLanes;
  replies: ReplyPublisher;
  deadLetters: DeadLetterPublisher;
  deadLetterLimit: SlidingWindowLimit;
  maxQueued: number;
  logger: Logger;
  events: TypedEmitter<ServiceEvents>;
  /** Aborted on forced shutdown: cancels running operations. */
  cancel: AbortSignal;
  /** Resolves when the ledgers are caught up (replaced after each rebalance). */
  ledgerReady: () => Promise<void>;
  /** A CLOSE cancels the same sliver's running create (consumer.cancel_create_on_close). */
  cancelCreateOnClose: boolean;
  /** Called once when the consumer must stop (dead-letter limit); the message stays uncommitted. */
  onFatal: (err: AmhError) => void;
}

/**
 * The fetch loop hands each message off and returns at once, so a playbook
 * that runs for half an hour never blocks heartbeats. Each message then goes
 * decode -> per-sliver lane -> ledger guard -> handler -> reply, and only
 * then is its offset marked done; commits advance to the lowest offset still
 * in flight.
 */
export class ConsumerRunner {
  private readonly tracker = new OffsetTracker();
  private readonly committer: Committer;
  private readonly supersession = new Supersession();
  private paused = false;
  private fatal = false;
  private quiescing = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: ConsumerRunnerOptions) {
    this.committer = new Committer(o.consumer, o.logger, (offsets) => {
      for (const c of offsets) o.events.emit('committed', { topic: c.topic, partition: c.partition, offset: c.offset.toString() });
    });
  }

  async start(): Promise<void> {
    await this.o.consumer.run({
      autoCommit: false,
      eachMessage: async (payload) => this.accept(payload),
    });
  }

  /** Messages handed off but not finished (decode, run, reply). */
  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * Stop taking messages without leaving the group: the topic is paused and
   * anything still delivered is left uncommitted, while commits keep working
   * for the work in flight (kafkajs drops commits once the consumer stopped).
   */
  quiesce(): void {
    this.quiescing = true;
    this.o.consumer.pause([{ topic: this.o.topic }]);
  }

  /** Wait for every accepted message to finish, then send the last commits. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.committer.flush();
  }

  private async accept({ topic, partition, message }: EachMessagePayload): Promise<void> {
    if (this.fatal || this.quiescing) return; // stopping: leave it uncommitted for the next run
    const offset = BigInt(message.offset);
    this.tracker.begin(topic, partition, offset);
    const work = this.process(topic, partition, message)
      .then((done) => {
        if (done) this.done(topic, partition, offset);
      })
      .catch((err: unknown) => {
        // Only a forced shutdown gets here (publishing gave up): the offset stays uncommitted and is redelivered.
        this.o.logger.warn({ err, topic, partition, offset: message.offset }, 'message left uncommitted');
      })
      .finally(() => {
        this.inFlight.delete(work);
        this.applyBackpressure();
      });
    this.inFlight.add(work);
    this.applyBackpressure();
  }

  /** Resolves true when the message is fully handled (reply or dead letter published). */
  private async process(topic: string, partition: number, message: KafkaMessage): Promise<boolean> {
    const where = { topic, partition, offset: message.offset };
    let event: SliverEvent;
    try {
      event = (await this.o.codec.decode('event', message.value)).value;
    } catch (err) {
      return this.deadLetter(topic, partition, message, err);
    }
    const logger = this.o.logger.child({
      eventId: event.event_id,
      sliverId: event.sliver_id,
      resourceType: event.resource_type,
      operation: event.operation,
      ...(event.trace_id ? { traceId: event.trace_id } : {}),
      ...where,
    });
    this.o.events.emit('queued', { event, ...where });
    await this.o.ledgerReady();
    if (this.o.cancelCreateOnClose) this.supersession.arrived(event, logger);
    const messageKey = message.key ? message.key.toString('utf8') : null;
    const answer = await this.o.lanes.run(event.sliver_id, async () => {
      this.o.events.emit('started', { event });
      logger.info('operation started');
      const signal = this.supersession.started(event, this.o.cancel);
      try {
        return await this.o.guard.answer(event, { logger, signal, messageKey });
      } finally {
        this.supersession.finished(event);
      }
    });
    await this.o.replies.publish(answer.result, this.o.cancel, answer.value);
    logger.info(
      { outcome: answer.result.outcome, durationMs: answer.result.duration_ms, replayed: answer.replayed },
      `result ${answer.result.outcome} published`,
    );
    this.o.events.emit('result', { result: answer.result, replayed: answer.replayed, ...where });
    return true;
  }

  private async deadLetter(topic: string, partition: number, message: KafkaMessage, err: unknown): Promise<boolean> {
    const where = { topic, partition, offset: message.offset };
    const reason = errorMessage(err);
    if (!this.o.deadLetterLimit.tryTake()) {
      if (!this.fatal) {
        this.fatal = true;
        const { max, windowMs } = this.o.deadLetterLimit;
        const fatal = new AmhError(
          `more than ${max} undecodable messages within ${windowMs} ms (last at ${topic}/${partition}@${message.offset}: ${reason}); ` +
            'stopping instead of dead-lettering the topic: check the producers and the schemas, then restart',
        );
        this.o.logger.fatal({ ...where, reason }, fatal.message);
        this.o.onFatal(fatal);
      }
      return false;
    }
    this.o.logger.warn({ ...where, reason }, 'undecodable message sent to the dead-letter topic');
    await this.o.deadLetters.publish(
      { topic, partition, message, reason, errorCode: err instanceof AmhError ? err.code : 'DECODE' },
      this.o.cancel,
    );
    this.o.events.emit('deadLettered', { ...where, reason });
    if (!(err instanceof DecodeError)) this.o.logger.error({ err, ...where }, 'unexpected decode failure');
    return true;
  }

  private done(topic: string, partition: number, offset: bigint): void {
    const next = this.tracker.complete(topic, partition, offset);
    if (next === null) return;
    void this.committer.commit(topic, partition, next);
  }

  private applyBackpressure(): void {
    const queued = this.inFlight.size;
    if (!this.paused && queued >= this.o.maxQueued) {
      this.paused = true;
      this.o.consumer.pause([{ topic: this.o.topic }]);
      this.o.logger.info({ queued }, 'queue bound reached: fetching paused');
      this.o.events.emit('backpressure', { paused: true, queued });
    } else if (this.paused && !this.quiescing && queued <= Math.floor(this.o.maxQueued / 2)) {
      this.paused = false;
      this.o.consumer.resume([{ topic: this.o.topic }]);
      this.o.logger.info({ queued }, 'queue below half its bound: fetching resumed');
      this.o.events.emit('backpressure', { paused: false, queued });
    }
  }
}
