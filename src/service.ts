import { Partitioners, type Admin, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { reapOrphanRuns } from './ansible/index.js';
import { createCore, type Core, type CoreDeps } from './core.js';
import type { AvroCodec } from './codec/index.js';
import { KeyedLanes } from './dispatch/lanes.js';
import type { AmhError } from './errors/index.js';
import type { HandlerRegistry } from './handlers/index.js';
import { ConsumerRunner } from './kafka/consumer-runner.js';
import { groupLiveness } from './kafka/group-liveness.js';
import { SlidingWindowLimit } from './kafka/rate-limit.js';
import { ensureTopics } from './kafka/topics.js';
import { TypedEmitter, type ServiceEvents } from './observability/events.js';
import type { Logger } from './observability/logger.js';
import { DeadLetterPublisher } from './results/dead-letter.js';
import { ReplyPublisher } from './results/reply-publisher.js';
import { LedgerGuard } from './state/guard.js';
import { KafkaLedgerStore } from './state/kafka-store.js';

export type ServiceDeps = CoreDeps;

export type ServiceState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/**
 * The consumer service (`amh run`): Kafka in -> decode -> route -> queue ->
 * ledger -> handler -> playbook -> reply -> commit. Everything that can be
 * wrong with the configuration fails in the constructor, before any
 * connection is made.
 */
export class Service {
  readonly events = new TypedEmitter<ServiceEvents>();
  readonly registry: HandlerRegistry;
  readonly codec: AvroCodec;
  readonly lanes: KeyedLanes;
  readonly instanceId: string;
  private readonly core: Core;
  private readonly kafka: Kafka;
  private readonly cancel = new AbortController();
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private admin: Admin | null = null;
  private store: KafkaLedgerStore | null = null;
  private runnerLoop: ConsumerRunner | null = null;
  private stopping: Promise<void> | null = null;
  private _state: ServiceState = 'idle';
  private ledgerReady: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ServiceDeps) {
    this.core = createCore(deps);
    ({ instanceId: this.instanceId, registry: this.registry, codec: this.codec, kafka: this.kafka } = this.core);
    this.lanes = new KeyedLanes(deps.config.consumer.concurrency);
  }

  get state(): ServiceState {
    return this._state;
  }

  /** Messages accepted from Kafka and not yet answered. */
  get pending(): number {
    return this.runnerLoop?.pending ?? 0;
  }

  async start(): Promise<void> {
    if (this._state !== 'idle') throw new Error(`cannot start a service that is ${this._state}`);
    this._state = 'starting';
    const { config } = this.deps;
    const logger = this.deps.logger.child({ instance: this.instanceId });
    const { topics } = config.kafka;
    try {
      if (!this.deps.runner) await reapOrphanRuns(this.core.workDir, logger);
      if (config.kafka.create_topics) await this.createTopics(logger);
      this.producer = this.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      await this.producer.connect();
      this.admin = this.kafka.admin();
      await this.admin.connect();
      this.store = new KafkaLedgerStore({
        kafka: this.kafka,
        producer: this.producer,
        codec: this.codec,
        topic: topics.state,
        instanceId: this.instanceId,
        logger,
      });
      await this.store.start();
      this.consumer = this.kafka.consumer({
        groupId: config.kafka.group_id,
        sessionTimeout: config.kafka.session_timeout,
        allowAutoTopicCreation: false,
        // kafkajs sleeps this long when every partition is paused and does not wake on resume():
        // the default 5 s halved throughput under backpressure (bench/README.md).
        maxWaitTimeInMs: 250,
      });
      // After every rebalance, read the ledgers up to now before running anything:
      // the partition's previous owner may have answered events we are about to see again.
      this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        this.ledgerReady = this.store?.catchUp() ?? Promise.resolve();
        this.ledgerReady.catch((err: unknown) => logger.error({ err }, 'ledger catch-up failed'));
      });
      this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) this.fail(payload.error as AmhError, logger);
      });
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [topics.events], fromBeginning: config.kafka.from_beginning });
      const limit = config.consumer.dead_letter_limit;
      this.runnerLoop = new ConsumerRunner({
        consumer: this.consumer,
        topic: topics.events,
        codec: this.codec,
        guard: new LedgerGuard({
          executor: this.core.executor,
          store: this.store,
          codec: this.codec,
          instanceId: this.instanceId,
          liveness: groupLiveness(this.admin, config.kafka.group_id),
          keep: config.consumer.ledger_entries,
        }),
        lanes: this.lanes,
        replies: new ReplyPublisher(this.producer, this.codec, topics.replies, logger),
        deadLetters: new DeadLetterPublisher(this.producer, topics.dead_letter, logger),
        deadLetterLimit: new SlidingWindowLimit(limit.max, limit.window),
        maxQueued: config.consumer.max_queued,
        logger,
        events: this.events,
        cancel: this.cancel.signal,
        ledgerReady: () => this.ledgerReady,
        cancelCreateOnClose: config.consumer.cancel_create_on_close,
        onFatal: (err) => this.fail(err, logger),
      });
      await this.runnerLoop.start();
      this._state = 'running';
      logger.info({ group: config.kafka.group_id, topic: topics.events, resourceTypes: this.registry.resourceTypes() }, 'consuming');
    } catch (err) {
      this._state = 'failed';
      await this.disconnect();
      throw err;
    }
  }

  /**
   * Stop fetching, let in-flight operations finish up to `consumer.shutdown_grace`,
   * cancel the rest (their CANCELLED results are still published), commit,
   * disconnect. Idempotent: every call returns the first call's promise.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private fail(error: Error, logger: Logger): void {
    logger.fatal({ err: error }, 'stopping the service');
    this.events.emit('fatal', { error });
    void this.stop();
  }

  private async createTopics(logger: Logger): Promise<void> {
    const { kafka } = this.deps.config;
    const spec = { numPartitions: kafka.partitions, replicationFactor: kafka.replication_factor };
    const { events, replies, dead_letter, state } = kafka.topics;
    await ensureTopics(
      this.kafka,
      [
        ...[events, replies, dead_letter].map((topic) => ({ topic, ...spec })),
        // Same partition count as the events topic, so a sliver's ledger sits on the partition number of its events.
        { topic: state, ...spec, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      ],
      logger,
    );
  }

  private async shutdown(): Promise<void> {
    const { logger, config } = this.deps;
    this._state = 'stopping';
    logger.info({ pending: this.pending }, 'stopping: no new messages will be fetched');
    try {
      if (this.runnerLoop) {
        this.runnerLoop.quiesce();
        const drained = this.runnerLoop.drain();
        const grace = new Promise<'grace'>((r) => setTimeout(r, config.consumer.shutdown_grace, 'grace').unref());
        if ((await Promise.race([drained, grace])) === 'grace') {
          logger.warn({ pending: this.pending }, 'shutdown grace elapsed: cancelling running operations');
          this.cancel.abort(new Error('shutdown'));
          await drained;
        }
      }
      await this.consumer?.stop();
    } finally {
      await this.disconnect();
      this._state = 'stopped';
      logger.info('stopped');
    }
  }

  private async disconnect(): Promise<void> {
    await Promise.allSettled([this.consumer?.disconnect(), this.store?.stop(), this.admin?.disconnect()]);
    await this.producer?.disconnect().catch(() => undefined);
  }
}
