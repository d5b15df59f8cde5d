import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { type Consumer, type Kafka, type Producer } from 'kafkajs';
import { KeyPartitioner } from './kafka/partition-of.js';
import { reapOrphanRuns, type WarmPool } from './ansible/index.js';
import { createServiceAudit } from './audit/in-service.js';
import type { AuditLoop } from './audit/loop.js';
import { createCore, type Core, type CoreDeps } from './core.js';
import type { AvroCodec } from './codec/index.js';
import { KeyedLanes } from './dispatch/lanes.js';
import { FatalError, errorMessage, type AmhError } from './errors/index.js';
import { HandlerRegistry } from './handlers/index.js';
import { PartitionOwnership } from './kafka/assignment.js';
import { ConsumerRunner } from './kafka/consumer-runner.js';
import { SlidingWindowLimit } from './kafka/rate-limit.js';
import { expectedTopics, toTopicSpec } from './kafka/topic-specs.js';
import { ensureTopics } from './kafka/topics.js';
import { WriteBatcher } from './kafka/write-batcher.js';
import { asKafkaSecurityError, verifyKafkaAccess } from './kafka/security.js';
import { retryTransient } from './kafka/transient.js';
import { TypedEmitter, type ServiceEvents } from './observability/events.js';
import type { Logger } from './observability/logger.js';
import { Monitor } from './observability/monitor.js';
import { LedgerGate } from './pipeline/02-gate.js';
import { PartitionCommits } from './pipeline/06-commit.js';
import { MessagePipeline } from './pipeline/pipeline.js';
import { RunningOps } from './pipeline/running.js';
import { sleep } from './lib/abort.js';
import { DeadLetterPublisher } from './results/dead-letter.js';
import { ProgressPublisher } from './results/progress-publisher.js';
import { ReplyPublisher } from './results/reply-publisher.js';
import { DriftPublisher } from './results/drift-publisher.js';
import { Reconciler } from './reconcile/reconciler.js';
import { createRepairer } from './reconcile/repairer.js';
import { probeSlots } from './reconcile/schedule.js';
import { PartitionedLedgerStore, type ChildRestoreSettings } from './state/partitioned-store.js';
import { LedgerSweeper } from './state/sweeper.js';

export type ServiceDeps = CoreDeps;

/** Where the local ledger store of a state topic lives (`runtime.ledger_dir`). */
export function ledgerDir(config: ServiceDeps['config']): string {
  return join(config.resolvePath(config.runtime.ledger_dir), config.kafka.topics.state);
}

export { STATE_TOPIC_CONFIG } from './kafka/topic-specs.js';
/** Bulk ledger restores in a child process (`runtime.ledger_restore_child_min_records`), connecting as this process does. */
export function childRestore(config: ServiceDeps['config'], core: Core): ChildRestoreSettings | undefined {
  const minRecords = config.runtime.ledger_restore_child_min_records;
  return minRecords === null || !core.kafkaConnection ? undefined : { connection: core.kafkaConnection, minRecords };
}

export type ServiceState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** Progress records are for watching live: kept a day. */
export { PROGRESS_TOPIC_CONFIG } from './kafka/topic-specs.js';

/** CPU niceness of reconciliation probes' playbook runs (events' runs keep the service's). */
const PROBE_NICE = 10;

/** How long no event must have waited for or held a slot before a probe counts the moment as quiet. */
const PROBE_QUIET_MS = 1_000;

/** How long the last commit of a shutdown may take. */
const FINAL_COMMIT_MS = 5_000;

/**
 * The consumer service (`amh run`): Kafka in -> pipeline (decode -> ledger
 * gate -> run -> record -> reply) -> commit. Everything that can be wrong
 * with the configuration fails in the constructor, before any connection is
 * made. Every background loop reports here: a loop that cannot go on stops
 * the service with the reason (`fatal` event, state `failed`).
 */
export class Service {
  readonly events = new TypedEmitter<ServiceEvents>();
  readonly registry: HandlerRegistry;
  readonly codec: AvroCodec;
  readonly lanes: KeyedLanes;
  readonly instanceId: string;
  readonly ownership = new PartitionOwnership();
  private readonly core: Core;
  private readonly kafka: Kafka;
  private readonly running: RunningOps;
  /** Shutdown grace over: waits end, running operations are cancelled. */
  private readonly cancel = new AbortController();
  /** Shutdown deadline: every step gives up, every run is killed. */
  private readonly hardStop = new AbortController();
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private batcher: WriteBatcher | null = null;
  private store: PartitionedLedgerStore | null = null;
  private runnerLoop: ConsumerRunner | null = null;
  private sweeper: LedgerSweeper | null = null;
  private audit: AuditLoop | null = null;
  private reconciler: Reconciler | null = null;
  private progress: { publisher: ProgressPublisher; detach: () => void } | null = null;
  private stopping: Promise<void> | null = null;
  /** Metrics, /healthz, /readyz and the status page (`http.*`). */
  readonly monitor: Monitor;
  private _state: ServiceState = 'idle';
  private _failure: AmhError | null = null;

  constructor(private readonly deps: ServiceDeps) {
    this.core = createCore(deps, { onPlaybookRun: (run) => this.events.emit('playbookRun', run) });
    ({ instanceId: this.instanceId, registry: this.registry, codec: this.codec, kafka: this.kafka } = this.core);
    this.lanes = new KeyedLanes(deps.config.consumer.concurrency);
    this.running = new RunningOps(deps.config.consumer.cancel_create_on_close);
    // Every accepted event (up to consumer.max_queued) may wait on these at once, e.g. retrying a write while the
    // broker is away: many listeners is the design here, not a leak (Node warns past 10).
    setMaxListeners(0, this.cancel.signal, this.hardStop.signal);
    const { topics } = deps.config.kafka;
    this.monitor = new Monitor({
      config: deps.config,
      events: this.events,
      kafka: this.kafka,
      logger: deps.logger.child({ instance: this.instanceId }),
      resourceTypes: this.registry.resourceTypes(),
      view: {
        instanceId: this.instanceId,
        state: () => this._state,
        failure: () => this._failure?.message ?? null,
        owned: () => this.ownership.partitions(),
        paused: () => (this.consumer?.paused().find((t) => t.topic === topics.events)?.partitions ?? []).filter((p) => this.ownership.owns(p)),
        running: () => this.lanes.running,
        pending: () => this.pending,
        uncommitted: (p) => this.runnerLoop?.uncommitted(p) ?? 0,
        restoring: () => {
          const restored = new Set((this.store?.describe() ?? []).filter((d) => d.restored).map((d) => d.partition));
          return this.ownership.partitions().filter((p) => !restored.has(p));
        },
        runnerProblem: () => this.core.runnerProblem(),
        warmZygotes: () => this.core.warmPool?.stats() ?? [],
      },
    });
  }

  /** Where the HTTP endpoints listen (`http.port` 0 picks a free port), or null when `http.enabled` is false. */
  get httpAddress(): { host: string; port: number } | null {
    return this.monitor.address;
  }

  /** The warm runner's zygotes, or null when no handler runs warm (or the runner is the caller's). */
  get warmPool(): WarmPool | null {
    return this.core.warmPool;
  }

  get state(): ServiceState {
    return this._state;
  }

  /** Why the service failed, when it did. */
  get failure(): AmhError | null {
    return this._failure;
  }

  /** Messages accepted from Kafka and not yet at their fate. */
  get pending(): number {
    return this.runnerLoop?.pending ?? 0;
  }

  async start(): Promise<void> {
    if (this._state !== 'idle') throw new Error(`cannot start a service that is ${this._state}`);
    this._state = 'starting';
    const { config } = this.deps;
    const logger = this.deps.logger.child({ instance: this.instanceId });
    const { topics, group_id } = config.kafka;
    const { consumer: c } = config;
    try {
      await this.monitor.start();
      if (!this.deps.runner) await reapOrphanRuns(this.core.workDir, logger);
      await this.startWarmRunner();
      // A broker still starting, or topics another instance is creating, answer with transient errors for a while.
      const startup = <T>(what: string, step: () => Promise<T>): Promise<T> =>
        retryTransient(what, step, { deadlineMs: config.kafka.startup_timeout, logger, signal: this.hardStop.signal });
      // A wrong password or an untrusted certificate ends start-up here, at once, with one clear error.
      await verifyKafkaAccess(config.kafka, {
        clientId: `${config.kafka.client_id}/${this.instanceId}`,
        logger,
        deadlineMs: config.kafka.startup_timeout,
        signal: this.hardStop.signal,
        ...(this.deps.socketFactory ? { socketFactory: this.deps.socketFactory } : {}),
      });
      if (config.kafka.create_topics) await this.createTopics(logger);
      const producer = this.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: KeyPartitioner });
      this.producer = producer;
      this.monitor.watch(producer);
      await startup('connecting the producer', () => producer.connect());
      // Ledger writes and replies of events finishing together share produce requests (README "Batched writes").
      const { linger, max_records, max_bytes, max_in_flight } = config.kafka.write_batch;
      this.batcher = new WriteBatcher(producer, { lingerMs: linger, maxCount: max_records, maxBytes: max_bytes, maxInFlight: max_in_flight });
      if (topics.progress) {
        const publisher = new ProgressPublisher({ producer, codec: this.codec, topic: topics.progress, instanceId: this.instanceId, logger });
        this.progress = { publisher, detach: this.events.on('progress', publisher.onProgress) };
      }
      this.store = new PartitionedLedgerStore({
        kafka: this.kafka,
        dir: ledgerDir(config),
        producer: this.producer,
        codec: this.codec,
        topic: topics.state,
        instanceId: this.instanceId,
        logger,
        onFailure: (err) => this.fail(err, logger),
        onRestored: (restore) => this.events.emit('ledgerRestored', restore),
        restoreInChild: childRestore(config, this.core),
        batcher: this.batcher,
      });
      const store = this.store;
      await startup('opening the ledgers', () => store.start());
      this.consumer = this.kafka.consumer({
        groupId: group_id,
        sessionTimeout: config.kafka.session_timeout,
        heartbeatInterval: config.kafka.heartbeat_interval,
        allowAutoTopicCreation: false,
        // kafkajs sleeps this long when every partition is paused and does not wake on resume():
        // the default 5 s halved throughput under backpressure (bench/README.md).
        maxWaitTimeInMs: 250,
        // Fetches sized to what the queue can take: kafkajs reads a whole response into one buffer and decodes all of it (README "Memory").
        maxBytesPerPartition: config.kafka.fetch.max_partition_bytes,
        maxBytes: config.kafka.fetch.max_bytes,
      });
      const consumer = this.consumer;
      await startup('connecting the consumer', () => consumer.connect());
      await startup('subscribing', () => consumer.subscribe({ topics: [topics.events], fromBeginning: config.kafka.from_beginning }));
      const gate = LedgerGate.fromConfig(c, { store, codec: this.codec, instanceId: this.instanceId, logger });
      const pipeline = new MessagePipeline({
        codec: this.codec,
        gate,
        executor: this.core.executor,
        lanes: this.lanes,
        running: this.running,
        replies: new ReplyPublisher(this.batcher.asProducer(), this.codec, topics.replies),
        deadLetters: new DeadLetterPublisher(this.producer, topics.dead_letter),
        deadLetterLimit: new SlidingWindowLimit(c.dead_letter_limit.max, c.dead_letter_limit.window),
        maxEventBytes: c.max_event_bytes,
        logger,
        events: this.events,
        cancel: this.cancel.signal,
        hardStop: this.hardStop.signal,
        // Nothing of a partition runs before its ledgers are restored: its previous owner may have answered
        // events we are about to see again.
        ledgerReady: (partition) => store.ready(partition),
      });
      const commits = new PartitionCommits(this.consumer, topics.events, this.ownership, logger, (offsets) => {
        for (const o of offsets) this.events.emit('committed', { topic: o.topic, partition: o.partition, offset: o.offset.toString() });
      });
      this.runnerLoop = new ConsumerRunner({
        consumer: this.consumer,
        topic: topics.events,
        pipeline,
        ownership: this.ownership,
        commits,
        running: this.running,
        maxQueued: c.max_queued,
        revokeGraceMs: c.revoke_grace,
        logger,
        events: this.events,
        // Ledgers follow partitions: restore what was assigned, stop following what was revoked.
        onJoin: ({ owned, revoked }) => {
          store.revoke(revoked);
          store.assign(owned).catch((err: unknown) => logger.warn({ err }, 'restoring ledgers did not finish; events of those partitions wait'));
        },
        onFatal: (err) => this.fail(err, logger),
      });
      await this.runnerLoop.start();
      this.sweeper = new LedgerSweeper({
        store,
        partitions: () => this.ownership.partitions(),
        retentionMs: c.ledger_retention,
        intervalMs: c.ledger_sweep_interval,
        logger,
      });
      this.sweeper.start();
      if (config.reconcile.enabled) {
        this.reconciler = this.createReconciler({ store, pipeline, gate, logger });
        this.reconciler.start();
      }
      this.audit = createServiceAudit({
        config,
        core: this.core,
        store,
        pipeline,
        gate,
        producer,
        lanes: this.lanes,
        running: this.running,
        ownership: this.ownership,
        events: this.events,
        logger,
      });
      this.audit?.start();
      this._state = 'running';
      logger.info({ group: group_id, topic: topics.events, resourceTypes: this.registry.resourceTypes() }, 'consuming');
    } catch (err) {
      this._state = 'failed';
      await this.disconnect();
      await this.core.warmPool?.stop();
      await this.monitor.stop();
      // A client that connected later (another broker, the group coordinator) can still be refused.
      throw asKafkaSecurityError(err, config.kafka) ?? err;
    }
  }

  /**
   * Stop fetching, let in-flight operations finish up to
   * `consumer.shutdown_grace`, cancel the rest (their CANCELLED results are
   * still published), and at `consumer.shutdown_timeout` kill whatever still
   * runs (cleanups included), send a last bounded commit and disconnect.
   * Idempotent: every call returns the first call's promise.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private fail(error: AmhError, logger: Logger): void {
    if (this._failure) return;
    this._failure = error instanceof FatalError ? error : new FatalError(errorMessage(error), { cause: error });
    logger.fatal({ err: error }, `stopping the service: ${errorMessage(error)}`);
    this.events.emit('fatal', { error: this._failure });
    void this.stop();
  }

  /** Drift detection and repair (`reconcile.*`, `handlers.<name>.repair`): see src/reconcile/. */
  private createReconciler(deps: { store: PartitionedLedgerStore; pipeline: MessagePipeline; gate: LedgerGate; logger: Logger }): Reconciler {
    const { config } = this.deps;
    const { store, pipeline, gate, logger } = deps;
    const producer = this.producer;
    if (!producer) throw new Error('the producer must be connected before the reconciler starts');
    const drift = new DriftPublisher({ producer, codec: this.codec, topic: config.kafka.topics.drift });
    const topic = config.kafka.topics.events;
    const reconcilerLogger = logger.child({ component: 'reconciler' });
    return new Reconciler({
      store,
      partitions: () => store.describe().filter((d) => d.restored && this.ownership.owns(d.partition)).map((d) => d.partition),
      owns: (partition) => this.ownership.owns(partition),
      running: this.running,
      // Probes' playbooks run niced: the CPU goes to the events' runs first, as the slots do.
      execute: (event, opts) => this.core.executor.execute(event, { ...opts, hardStop: this.hardStop.signal, nice: PROBE_NICE }),
      // Behind every event waiting for a slot.
      withSlot: (task, options) => this.lanes.withBackgroundSlot(task, options),
      waitForQuiet: (until, signal) => this.lanes.quiet(PROBE_QUIET_MS, until, signal),
      codec: this.codec,
      handlerOf: (type) => {
        const handler = this.registry.find(type);
        return handler ? { name: handler.name, repair: handler.repair, canProbe: HandlerRegistry.supports(handler, 'PROBE') } : null;
      },
      publish: (report) => drift.send(report),
      repair: createRepairer({ pipeline, gate, owned: (p) => this.ownership.signal(p), topic, logger: reconcilerLogger, events: this.events }),
      intervalMs: config.reconcile.interval,
      maxProbes: probeSlots(config.consumer.concurrency, config.reconcile.share),
      instanceId: this.instanceId,
      topic,
      logger: reconcilerLogger,
      events: this.events,
      onFatal: (err) => this.fail(err, logger),
    });
  }

  private async createTopics(logger: Logger): Promise<void> {
    const { kafka } = this.deps.config;
    await ensureTopics(this.kafka, expectedTopics(kafka).map(toTopicSpec), logger, {
      deadlineMs: kafka.startup_timeout,
      signal: this.hardStop.signal,
    });
  }

  private async shutdown(): Promise<void> {
    const { logger, config } = this.deps;
    const { shutdown_grace: grace, shutdown_timeout: deadline } = config.consumer;
    const startedAt = Date.now();
    const left = (): number => Math.max(0, startedAt + deadline - Date.now());
    this._state = 'stopping';
    logger.info({ pending: this.pending }, 'stopping: no new messages will be fetched');
    const hardTimer = setTimeout(() => {
      logger.error({ pending: this.pending }, `shutdown deadline (${deadline} ms) reached: killing every run and giving up on unfinished messages`);
      this.hardStop.abort(new Error('shutdown deadline reached'));
      this.cancel.abort(new Error('shutdown deadline reached'));
      this.running.cancelAll(new Error('shutdown deadline reached'));
    }, deadline);
    hardTimer.unref();
    // Probes end now (their playbooks are killed); a repair already in its lane ends like an event.
    const reconciled = this.reconciler?.stop();
    // No new audit pass; a listing running now is killed (a repair already in its lane ends like an event).
    const audited = this.audit?.stop();
    try {
      if (this.runnerLoop) {
        const loop = this.runnerLoop;
        loop.quiesce();
        const drained = loop.drain();
        if ((await Promise.race([drained.then(() => 'drained' as const), sleep(grace).then(() => 'grace' as const)])) === 'grace') {
          logger.warn({ pending: this.pending }, 'shutdown grace elapsed: cancelling running operations');
          const reason = new Error('shutdown');
          this.cancel.abort(reason);
          this.running.cancelAll(reason);
        }
        // Cancelled runs clean up; the deadline kills what is left. A little past it, stop waiting at all.
        await Promise.race([drained, sleep(left() + 2 * config.runtime.kill_grace + 1000)]);
        loop.stop();
        if (!(await loop.flush(Math.min(FINAL_COMMIT_MS, left() + FINAL_COMMIT_MS)))) logger.warn('last commit did not finish in time');
      }
      await Promise.race([reconciled, sleep(left())]);
      await this.sweeper?.stop();
      await Promise.race([audited, sleep(left())]);
      await this.consumer?.stop();
    } finally {
      clearTimeout(hardTimer);
      await this.disconnect();
      await this.core.warmPool?.stop();
      this._state = this._failure ? 'failed' : 'stopped';
      await this.monitor.stop();
      logger.info({ durationMs: Date.now() - startedAt }, 'stopped');
    }
  }

  /** The zygotes start in the background: until one is ready, runs are spawned as without them. */
  private async startWarmRunner(): Promise<void> {
    const pool = this.core.warmPool;
    if (!pool) return;
    pool.on('fallback', ({ reason }) => this.events.emit('warmRunner', { kind: 'fallback', reason }));
    pool.on('zygoteReady', ({ slot, rssBytes, importSeconds }) => this.events.emit('warmRunner', { kind: 'zygoteReady', slot, rssBytes: rssBytes ?? null, importSeconds }));
    pool.on('zygoteExit', ({ slot, expected }) => this.events.emit('warmRunner', { kind: 'zygoteExit', slot, expected }));
    await pool.start();
  }

  private async disconnect(): Promise<void> {
    this.progress?.detach();
    await this.progress?.publisher.flush();
    await Promise.allSettled([this.consumer?.disconnect(), this.store?.stop()]);
    // Writes still queued (none once the pipeline is done; bounded in case the broker is gone) go before the producer.
    const timer = new AbortController();
    await Promise.race([this.batcher?.stop().catch(() => undefined), sleep(FINAL_COMMIT_MS, timer.signal).catch(() => undefined)]);
    timer.abort();
    await this.producer?.disconnect().catch(() => undefined);
  }
}
