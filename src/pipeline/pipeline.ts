import type { KafkaMessage } from 'kafkajs';
import type { AvroCodec } from '../codec/codec.js';
import type { InFlight, Outcome, SliverEvent, SliverResult } from '../codec/types.js';
import type { Executor } from '../dispatch/executor.js';
import type { KeyedLanes } from '../dispatch/lanes.js';
import { AmhError, FatalError, errorMessage } from '../errors/index.js';
import { PartitionRevokedError } from '../kafka/assignment.js';
import type { SlidingWindowLimit } from '../kafka/rate-limit.js';
import type { ServiceEvents, TypedEmitter } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import { buildResult } from '../results/builder.js';
import type { DeadLetterPublisher } from '../results/dead-letter.js';
import type { ReplyPublisher } from '../results/reply-publisher.js';
import { decodeMessage } from './01-decode.js';
import type { Answer, Lease, LedgerGate } from './02-gate.js';
import { runEvent } from './03-run.js';
import { publishAnswer } from './05-reply.js';
import type { Decision } from '../state/ledger.js';
import { AbandonedError, untilDone } from './retry.js';
import type { RunningOps } from './running.js';
import { linkSignals } from '../lib/abort.js';
import { eventLogger } from '../observability/event-logger.js';
import { lazyLogger } from '../observability/lazy-logger.js';

/**
 * Where a message ended. Only `answered` and `dead-lettered` let its offset
 * be committed; the others leave it for whoever reads the partition next.
 */
export type Fate =
  /** A reply is on the reply topic (and, unless it was re-published or the sliver has no ledger past its retention, recorded in the ledger first). */
  | 'answered'
  /** Undecodable: the original is on the dead-letter topic with the reason. */
  | 'dead-lettered'
  /** The partition was revoked before the event ran (or while it ran, past the revoke grace): the new owner answers it. */
  | 'revoked';

export interface PipelineOptions {
  codec: AvroCodec;
  gate: LedgerGate;
  executor: Executor;
  lanes: KeyedLanes;
  running: RunningOps;
  replies: ReplyPublisher;
  deadLetters: DeadLetterPublisher;
  deadLetterLimit: SlidingWindowLimit;
  maxEventBytes: number;
  logger: Logger;
  events: TypedEmitter<ServiceEvents>;
  /** Aborted when the shutdown grace is over: waits end, running operations are cancelled (and answered CANCELLED). */
  cancel: AbortSignal;
  /** Aborted at the hard shutdown deadline: every step gives up and the message stays uncommitted. */
  hardStop: AbortSignal;
  /** Resolves when the ledgers of the partition are restored (after it was assigned). */
  ledgerReady: (partition: number) => Promise<void>;
}

/** Where one message came from, and the ownership period of its partition. */
export interface MessageSource {
  topic: string;
  partition: number;
  message: KafkaMessage;
  /** Aborts when the partition is revoked. */
  owned: AbortSignal;
}

export type LaneAnswer = Answer | 'revoked';

/** An operation that ran, and the lease it ran under (still held: its answer is recorded under it). */
interface Ran {
  result: SliverResult;
  lease: Lease;
}

/**
 * One message, top to bottom: decode -> ledger gate -> route and run ->
 * record -> reply. Every failure has one fate: a transient one (broker or
 * registry unreachable, no leader, a timeout) is retried where it happened
 * while the partition waits; the event's own fault is a REJECTED or FAILED
 * reply; undecodable bytes go to the dead-letter topic; anything else is
 * fatal and thrown as a FatalError (the service stops, saying why, and the
 * message stays uncommitted). Nothing is only logged.
 */
export class MessagePipeline {
  constructor(private readonly o: PipelineOptions) {}

  async handle(source: MessageSource): Promise<Fate> {
    // Its sliver is busy from now on (by the message key; by the sliver id once decoded): the reconciler keeps off it.
    const key = source.message.key?.toString('utf8') ?? null;
    if (key !== null) this.o.running.hold(key);
    try {
      return await this.steps(source);
    } catch (err) {
      if (err instanceof AmhError && err.code === 'ABANDONED') throw err;
      if (err instanceof FatalError) throw err;
      throw new FatalError(`unexpected failure at ${where(source)}: ${errorMessage(err)}`, { cause: err });
    } finally {
      if (key !== null) this.o.running.release(key);
    }
  }

  private async steps(source: MessageSource): Promise<Fate> {
    const { message } = source;
    const at = { topic: source.topic, partition: source.partition, offset: message.offset };
    const decoded = await this.retry('decoding', lazyLogger(this.o.logger, () => this.o.logger.child(at)), () => decodeMessage(this.o.codec, message, this.o.maxEventBytes));
    if (decoded.kind === 'undecodable') return this.deadLetter(source, decoded.reason, decoded.code);
    const { event, tooLarge } = decoded;
    // One child logger per event; it also scrubs the event's own secrets (SSH keys, BGP keys, passwords) from every line.
    const logger = eventLogger(this.o.logger, event, at);
    this.o.events.emit('queued', { event, ...at });
    await this.retry('restoring the ledgers', logger, () => this.o.ledgerReady(source.partition));
    const answer = await this.answerEvent(event, source, logger, tooLarge);
    if (answer === 'revoked') {
      logger.info('partition revoked before the event was answered: left to its new owner');
      return 'revoked';
    }
    const published = await this.publish(answer, logger);
    this.o.events.emit('result', { result: published, replayed: answer.replayed, ...at });
    return 'answered';
  }

  /** Steps 2-4 for a decoded event, in its sliver's lane (also what `amh replay` uses). */
  async answerEvent(event: SliverEvent, source: MessageSource, logger: Logger, tooLarge: string | null = null): Promise<LaneAnswer> {
    this.o.running.hold(event.sliver_id);
    this.o.running.arrived(event, logger);
    try {
      return await this.o.lanes.run(event.sliver_id, () => this.answer(event, source, logger, tooLarge));
    } finally {
      if (event.operation === 'CLOSE') this.o.running.answered(event);
      this.o.running.release(event.sliver_id);
    }
  }

  /** Step 5: the reply, retried while transient. */
  async publish(answer: Answer, logger: Logger): Promise<SliverResult> {
    const published = await this.retry('publishing the reply', logger, () => publishAnswer(this.o.replies, this.o.codec, answer));
    logger.info({ outcome: published.outcome, durationMs: published.duration_ms, replayed: answer.replayed }, `result ${published.outcome} published`);
    return published;
  }

  /** Inside the sliver's lane: decide from the ledger until the event is answered. */
  private async answer(event: SliverEvent, source: MessageSource, logger: Logger, tooLarge: string | null): Promise<LaneAnswer> {
    let waited = false;
    for (;;) {
      if (source.owned.aborted) return 'revoked';
      const decision = this.o.gate.decide(event);
      if (decision.kind === 'duplicate' && decision.entry === null) {
        const answer = this.o.gate.fromDigest(event, decision.digest);
        logger.info({ outcome: answer.result.outcome }, 'already answered, full reply no longer kept: publishing one rebuilt from its digest, running nothing');
        return answer;
      }
      if (decision.kind === 'duplicate') {
        const { value: result } = await this.o.codec.decode('result', decision.entry.reply);
        logger.info({ outcome: result.outcome }, 'already answered: re-publishing the stored result, running nothing');
        return { value: decision.entry.reply, result, replayed: true };
      }
      if (decision.kind === 'wait') {
        if (this.o.cancel.aborted) {
          const answer = await this.without(event, logger, 'CANCELLED', `cancelled while waiting for ${decision.inFlight.operation} ${decision.inFlight.event_id} (lease held by ${decision.inFlight.owner}): ${errorMessage(this.o.cancel.reason)}`, undefined, true);
          if (answer) return answer;
          continue;
        }
        if (!waited) logger.info({ inFlight: decision.inFlight }, 'another owner holds a lease on this sliver; waiting (without a slot)');
        waited = true;
        const stop = linkSignals(source.owned, this.o.cancel, this.o.hardStop);
        try {
          await this.o.gate.waitForChange(event.sliver_id, decision.expiresAt, stop.signal);
        } finally {
          stop.dispose();
        }
        continue;
      }
      const answer = await this.decided(event, decision, source, logger, tooLarge);
      if (answer) return answer;
    }
  }

  /** A stale or runnable event; null when the ledger moved meanwhile (decide again). */
  private async decided(
    event: SliverEvent,
    decision: Extract<Decision, { kind: 'stale' | 'run' }>,
    source: MessageSource,
    logger: Logger,
    tooLarge: string | null,
  ): Promise<LaneAnswer | null> {
    if (decision.kind === 'stale') {
      logger.warn({ reason: decision.reason }, 'stale event answered, nothing ran');
      if (decision.unrecorded) return this.o.gate.unrecorded(event, 'STALE', decision.reason);
      return this.without(event, logger, 'STALE', decision.reason);
    }
    if (tooLarge) {
      logger.warn(tooLarge);
      return this.without(event, logger, 'REJECTED', tooLarge, 'EVENT_TOO_LARGE');
    }
    const close = this.o.running.supersededBy(event);
    if (close) {
      const message = `superseded by CLOSE ${close.eventId} (sequence ${close.sequence}) queued behind it: nothing ran`;
      logger.info(message);
      return this.without(event, logger, 'CANCELLED', message);
    }
    const ran = await this.o.lanes.ahead((withSlot) => this.claimAndRun(event, decision.interrupted, source, logger, withSlot));
    if (ran === null || ran === 'revoked') return ran;
    // The slot bounds operations running, not ledger writes: the answer is recorded without it, still under the lease.
    try {
      if (ran.lease.isLost) return null; // another owner took over: it answers (we wait for it and re-publish)
      const answer = await this.retry('recording the answer', logger, () => this.o.gate.record(event, ran.result, { ran: true, lease: ran.lease }));
      if (answer) logger.debug({ outcome: answer.result.outcome }, 'answer recorded');
      return answer;
    } finally {
      await ran.lease.stop();
    }
  }

  /**
   * Claims the lease ahead of a slot (the slot never waits for that round trip; see KeyedLanes.ahead), then
   * runs holding one. The lease comes back still held with the result (the caller records the answer under
   * it, then stops it); on every other way out it is stopped here.
   */
  private async claimAndRun(
    event: SliverEvent,
    interrupted: InFlight | null,
    source: MessageSource,
    logger: Logger,
    withSlot: <R>(run: () => Promise<R>) => Promise<R>,
  ): Promise<Ran | 'revoked' | null> {
    if (source.owned.aborted) return 'revoked';
    // Shutdown grace over: start nothing new. The event stays uncommitted and runs after the restart.
    if (this.o.cancel.aborted) throw new AbandonedError(`not started: ${errorMessage(this.o.cancel.reason)}`);
    const lease = await this.retry('claiming the lease', logger, () => this.o.gate.claim(event, logger));
    if (!lease) return null;
    let handedOver = false;
    try {
      const ran = await withSlot(() => this.run(event, interrupted, source, logger, lease));
      handedOver = ran !== null && ran !== 'revoked';
      return ran;
    } finally {
      if (!handedOver) await lease.stop();
    }
  }

  /** Holding a slot and the lease: run (unless the partition, the shutdown grace or the lease ended while it waited for the slot). */
  private async run(event: SliverEvent, interrupted: InFlight | null, source: MessageSource, logger: Logger, lease: Lease): Promise<Ran | 'revoked' | null> {
    if (lease.isLost) return null; // another owner took over while it waited: it answers (we wait for it and re-publish)
    if (source.owned.aborted) {
      await this.releaseLease(lease, logger);
      return 'revoked';
    }
    if (this.o.cancel.aborted) {
      await this.releaseLease(lease, logger);
      throw new AbandonedError(`not started: ${errorMessage(this.o.cancel.reason)}`);
    }
    const operation = this.o.running.start(event, source.partition);
    const offLost = lease.onLost((reason) => operation.abort(reason));
    try {
      this.o.events.emit('started', { event });
      logger.info('operation started');
      const result = await runEvent(this.o.executor, event, interrupted, {
        logger,
        signal: operation.signal,
        controller: operation,
        hardStop: this.o.hardStop,
        messageKey: source.message.key?.toString('utf8') ?? null,
        onProgress: (p) =>
          this.o.events.emit('progress', {
            event,
            playbook: p.playbook,
            task: p.task,
            host: p.host,
            taskIndex: p.taskIndex,
            taskCount: p.taskCount,
            step: p.step,
            play: p.play,
          }),
      });
      this.o.events.emit('finished', { event, result });
      if (lease.isLost) return null; // another owner took over: it answers (we wait for it and re-publish)
      if (operation.signal.aborted && operation.signal.reason instanceof PartitionRevokedError) {
        await this.releaseLease(lease, logger);
        return 'revoked';
      }
      return { result, lease };
    } finally {
      offLost();
      this.o.running.finish(event);
    }
  }

  /** Gives the lease back without an answer (the event did not run, or was stopped by a revoke), retried while transient. */
  private releaseLease(lease: Lease, logger: Logger): Promise<void> {
    return this.retry('releasing the lease', logger, () => this.o.gate.release(lease));
  }

  /** An answer given without running anything, recorded in the ledger first. Null when another owner holds a live lease now. */
  private async without(event: SliverEvent, logger: Logger, outcome: Outcome, message: string, errorCode?: string, evenIfHeld = false): Promise<Answer | null> {
    const at = this.o.gate.now();
    const result = buildResult(event, { outcome, message, errorCode: errorCode ?? null, startedAt: at, finishedAt: at, attempts: 0 });
    return this.retry('recording the answer', logger, () => this.o.gate.record(event, result, { ran: false, evenIfHeld }));
  }

  private async deadLetter(source: MessageSource, reason: string, errorCode: string): Promise<Fate> {
    const at = { topic: source.topic, partition: source.partition, offset: source.message.offset };
    if (!this.o.deadLetterLimit.tryTake()) {
      const { max, windowMs } = this.o.deadLetterLimit;
      throw new FatalError(
        `more than ${max} undecodable messages within ${windowMs} ms (last at ${where(source)}: ${reason}); ` +
          'stopping instead of dead-lettering the topic: check the producers and the schemas, then restart',
      );
    }
    const logger = this.o.logger.child(at);
    logger.warn({ reason }, 'undecodable message sent to the dead-letter topic');
    await this.retry('publishing the dead letter', logger, () =>
      this.o.deadLetters.send({ topic: source.topic, partition: source.partition, message: source.message, reason, errorCode }),
    );
    this.o.events.emit('deadLettered', { ...at, reason });
    return 'dead-lettered';
  }

  private retry<T>(what: string, logger: Logger, step: () => Promise<T>): Promise<T> {
    return untilDone(what, step, { logger, signal: this.o.hardStop, onRetry: (err) => this.o.events.emit('retry', { what, error: err }) });
  }
}

function where(source: MessageSource): string {
  return `${source.topic}/${source.partition}@${source.message.offset}`;
}
