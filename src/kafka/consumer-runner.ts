import type { Consumer, EachMessagePayload } from 'kafkajs';
import type { AmhError } from '../errors/index.js';
import { FatalError, errorMessage } from '../errors/index.js';
import type { ServiceEvents, TypedEmitter } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { PartitionCommits } from '../pipeline/06-commit.js';
import type { MessagePipeline } from '../pipeline/pipeline.js';
import type { RunningOps } from '../pipeline/running.js';
import { PartitionRevokedError, type AssignmentChange, type PartitionOwnership } from './assignment.js';
import { isRestartable } from './transient.js';

/** Backoff of our own consumer restarts: 1 s doubling to 30 s. */
const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 30_000;

export interface ConsumerRunnerOptions {
  consumer: Consumer;
  topic: string;
  pipeline: MessagePipeline;
  ownership: PartitionOwnership;
  commits: PartitionCommits;
  running: RunningOps;
  maxQueued: number;
  /** How long operations of a revoked partition may go on before they are cancelled (and their lease released). */
  revokeGraceMs: number;
  logger: Logger;
  events: TypedEmitter<ServiceEvents>;
  /** After every group join (the ledgers must be caught up before anything runs). */
  onJoin: (change: AssignmentChange & { owned: number[] }) => void;
  /** Called once when the service must stop; the message stays uncommitted. */
  onFatal: (err: AmhError) => void;
}

/**
 * The Kafka edge. The fetch loop hands each message to the pipeline and
 * returns at once, so a playbook that runs for half an hour never blocks
 * heartbeats. Assignment and revocation are first-class: each join's
 * assignment says which partitions are ours; a revoked partition starts
 * nothing new, its running operations get `revokeGraceMs` before they are
 * cancelled, and its offsets are never committed by us again.
 */
export class ConsumerRunner {
  private paused = false;
  private quiescing = false;
  private failed = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly revokeTimers = new Set<NodeJS.Timeout>();
  private readonly cancelling = new Set<number>();
  /** The group member id of the last join, and whether kafkajs restarted the consumer since. */
  private memberId: string | null = null;
  private restarted = false;
  /** Our own restarts of a consumer kafkajs gave up on (transient causes only), and the pending one. */
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: ConsumerRunnerOptions) {}

  async start(): Promise<void> {
    const { consumer } = this.o;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => this.joined(payload.memberId, payload.memberAssignment[this.o.topic] ?? []));
    consumer.on(consumer.events.CRASH, ({ payload }) => this.crashed(payload.error, payload.restart));
    await this.run();
  }

  private run(): Promise<void> {
    return this.o.consumer.run({ autoCommit: false, eachMessage: async (payload) => this.accept(payload) });
  }

  /**
   * A restarted consumer rejoins as a new member; that join's assignment says what is ours, in new ownership
   * periods (GROUP_JOIN re-applies the pause too). Until it runs again, kafkajs drops commits without an error.
   * kafkajs gives up on some errors it does not call retriable although the broker being away explains them
   * (a connection refused while it reconnects): one that is not known to be permanent restarts the consumer
   * here, with backoff (kafka/transient.ts isRestartable); anything else stops the service.
   */
  private crashed(error: Error, restart: boolean): void {
    this.o.logger.warn({ err: error, restart }, 'consumer crashed');
    this.restarted = true;
    const ours = !restart && !this.failed && !this.quiescing && isRestartable(error);
    this.o.events.emit('consumerCrashed', { error, restart: restart || ours });
    if (restart) return;
    for (const p of this.o.ownership.revokeAll()) this.o.commits.revoked(p);
    if (!ours) {
      this.fatal(new FatalError(`the consumer stopped: ${errorMessage(error)}`, { cause: error }));
      return;
    }
    this.restarts++;
    const delay = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** Math.min(this.restarts - 1, 6));
    this.o.logger.warn({ err: error, delayMs: delay, restarts: this.restarts }, 'kafkajs gave the consumer up on a transient error: restarting it');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.failed || this.quiescing) return;
      this.run().catch((err: unknown) => this.crashed(err instanceof Error ? err : new Error(String(err)), false));
    }, delay);
    this.restartTimer.unref();
  }

  /** Messages handed off and not yet at their fate. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Offsets of a partition taken in past its last commit. */
  uncommitted(partition: number): number {
    return this.o.commits.uncommitted(partition);
  }

  /** Whether fetching is paused by the queue bound. */
  get backpressured(): boolean {
    return this.paused;
  }

  /**
   * Stop taking messages without leaving the group: the topic is paused and
   * anything still delivered is left uncommitted, while commits keep working
   * for the work in flight (kafkajs drops commits once the consumer stopped).
   */
  quiesce(): void {
    this.quiescing = true;
    try {
      this.o.consumer.pause([{ topic: this.o.topic }]);
    } catch (err) {
      // A consumer kafkajs gave up on has nothing to pause (and takes nothing more either).
      this.o.logger.debug({ err }, 'nothing to pause: the consumer is not running');
    }
  }

  /** Resolves when every accepted message met its fate. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** The last commits, bounded. */
  flush(timeoutMs: number): Promise<boolean> {
    return this.o.commits.flush(timeoutMs);
  }

  stop(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    for (const t of this.revokeTimers) clearTimeout(t);
    this.revokeTimers.clear();
    this.cancelling.clear();
  }

  private joined(memberId: string, partitions: number[]): void {
    this.restarts = 0;
    const renew = this.restarted || (this.memberId !== null && memberId !== this.memberId);
    this.memberId = memberId;
    this.restarted = false;
    const change = this.o.ownership.assign(partitions, { renew });
    for (const p of [...change.revoked, ...change.renewed]) this.o.commits.revoked(p);
    // Operations of partitions no longer ours (revoked now, or lost while the consumer was down) get the revoke grace.
    for (const p of this.o.running.partitions()) if (!this.o.ownership.owns(p)) this.scheduleCancel(p);
    const owned = this.o.ownership.partitions();
    this.o.logger.info({ ...change, owned }, 'partitions assigned');
    this.o.events.emit('assigned', { ...change, owned });
    // kafkajs forgets paused topics when it restarts a crashed consumer: apply ours again.
    if (this.paused || this.quiescing) this.o.consumer.pause([{ topic: this.o.topic }]);
    this.o.onJoin({ ...change, owned });
  }

  private scheduleCancel(partition: number): void {
    if (this.cancelling.has(partition)) return;
    const timer = setTimeout(() => {
      this.revokeTimers.delete(timer);
      this.cancelling.delete(partition);
      if (this.o.ownership.owns(partition)) return; // given back meanwhile
      const n = this.o.running.cancelPartition(partition, new PartitionRevokedError(partition));
      if (n > 0) this.o.logger.warn({ partition, cancelled: n }, "revoke grace over: cancelling the revoked partition's operations");
    }, this.o.revokeGraceMs);
    timer.unref();
    this.revokeTimers.add(timer);
    this.cancelling.add(partition);
  }

  private async accept({ topic, partition, message }: EachMessagePayload): Promise<void> {
    if (this.failed || this.quiescing) return; // stopping: leave it uncommitted for the next run
    const owned = this.o.ownership.signal(partition);
    const period = this.o.ownership.commitPeriod(partition);
    if (!owned || !period) return; // delivered from a fetch that began before a revocation
    const offset = BigInt(message.offset);
    if (!this.o.commits.begin(partition, offset)) return; // already in flight here (redelivered after a rejoin)
    const work = this.o.pipeline
      .handle({ topic, partition, message, owned })
      .then((fate) => {
        if (fate !== 'revoked') this.o.commits.done(partition, offset, period);
      })
      .catch((err: unknown) => {
        if ((err as AmhError).code === 'ABANDONED') {
          this.o.logger.warn({ err, topic, partition, offset: message.offset }, 'shutting down: message left uncommitted for the next run');
          return;
        }
        this.fatal(err as AmhError);
      })
      .finally(() => {
        this.inFlight.delete(work);
        this.applyBackpressure();
      });
    this.inFlight.add(work);
    this.applyBackpressure();
  }

  private fatal(err: AmhError): void {
    if (this.failed) return;
    this.failed = true;
    this.o.onFatal(err);
  }

  private applyBackpressure(): void {
    const queued = this.inFlight.size;
    if (!this.paused && queued >= this.o.maxQueued) {
      this.paused = true;
      this.o.consumer.pause([{ topic: this.o.topic }]);
      this.o.logger.info({ queued }, 'queue bound reached: fetching paused');
      this.o.events.emit('backpressure', { paused: true, queued });
    } else if (this.paused && queued <= Math.floor(this.o.maxQueued / 2)) {
      this.paused = false;
      if (!this.quiescing) this.o.consumer.resume([{ topic: this.o.topic }]);
      this.o.logger.info({ queued }, 'queue below half its bound: fetching resumed');
      this.o.events.emit('backpressure', { paused: false, queued });
    }
  }
}
