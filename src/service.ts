import { Partitioners, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { createPlaybookRunner, locateAnsiblePlaybook } from './ansible/index.js';
import type { PlaybookRunner } from './ansible/types.js';
import { AvroCodec, HttpSchemaRegistry, SchemaCatalog } from './codec/index.js';
import type { ResolvedConfig } from './config/index.js';
import { Executor } from './dispatch/executor.js';
import { KeyedLanes } from './dispatch/lanes.js';
import { BUILTIN_PLUGINS, HandlerRegistry, type AnyHandlerPlugin } from './handlers/index.js';
import { createKafka } from './kafka/client.js';
import { ConsumerRunner } from './kafka/consumer-runner.js';
import { ensureTopics } from './kafka/topics.js';
import { TypedEmitter, type ServiceEvents } from './observability/events.js';
import type { Logger } from './observability/logger.js';
import { DeadLetterPublisher } from './results/dead-letter.js';
import { ReplyPublisher } from './results/reply-publisher.js';
import { repoRoot } from './paths.js';

export interface ServiceDeps {
  config: ResolvedConfig;
  logger: Logger;
  /** Default: ansible-playbook located as configured. Tests may pass a fake. */
  runner?: PlaybookRunner;
  plugins?: readonly AnyHandlerPlugin[];
  catalog?: SchemaCatalog;
}

export type ServiceState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/**
 * The consumer service (`amh run`): Kafka in -> decode -> route -> queue ->
 * handler -> playbook -> reply -> commit. Everything that can be wrong with
 * the configuration fails in the constructor, before any connection is made.
 */
export class Service {
  readonly events = new TypedEmitter<ServiceEvents>();
  readonly registry: HandlerRegistry;
  readonly codec: AvroCodec;
  readonly lanes: KeyedLanes;
  private readonly kafka: Kafka;
  private readonly runner: PlaybookRunner;
  private readonly cancel = new AbortController();
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private runnerLoop: ConsumerRunner | null = null;
  private stopping: Promise<void> | null = null;
  private _state: ServiceState = 'idle';

  constructor(private readonly deps: ServiceDeps) {
    const { config, logger } = deps;
    this.registry = HandlerRegistry.fromConfig(config, deps.plugins ?? BUILTIN_PLUGINS);
    const registryUrl = config.kafka.schema_registry.url;
    this.codec = new AvroCodec(deps.catalog ?? SchemaCatalog.load(), registryUrl ? new HttpSchemaRegistry(registryUrl) : undefined);
    this.lanes = new KeyedLanes(config.consumer.concurrency);
    this.runner =
      deps.runner ??
      createPlaybookRunner({
        ansiblePlaybook: config.runtime.ansible_playbook ?? locateAnsiblePlaybook(repoRoot()),
        workDir: config.resolvePath(config.runtime.work_dir),
        keepRunDirs: config.runtime.keep_run_dirs,
        defaultKillGraceMs: config.runtime.kill_grace,
        logger,
      });
    this.kafka = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.client_id, logger });
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
    const { config, logger } = this.deps;
    const { topics } = config.kafka;
    try {
      if (config.kafka.create_topics) {
        const spec = { numPartitions: config.kafka.partitions, replicationFactor: config.kafka.replication_factor };
        await ensureTopics(
          this.kafka,
          [topics.events, topics.replies, topics.dead_letter].map((topic) => ({ topic, ...spec })),
          logger,
        );
      }
      // The Java-compatible murmur2 partitioner: a sliver's events and records land on the same partition number as a Java/Python producer would put them.
      this.producer = this.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      await this.producer.connect();
      this.consumer = this.kafka.consumer({
        groupId: config.kafka.group_id,
        sessionTimeout: config.kafka.session_timeout,
        allowAutoTopicCreation: false,
      });
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [topics.events], fromBeginning: config.kafka.from_beginning });
      this.runnerLoop = new ConsumerRunner({
        consumer: this.consumer,
        topic: topics.events,
        codec: this.codec,
        executor: new Executor({ registry: this.registry, runner: this.runner, killGraceMs: config.runtime.kill_grace }),
        lanes: this.lanes,
        replies: new ReplyPublisher(this.producer, this.codec, topics.replies, logger),
        deadLetters: new DeadLetterPublisher(this.producer, topics.dead_letter, logger),
        maxQueued: config.consumer.max_queued,
        logger,
        events: this.events,
        cancel: this.cancel.signal,
      });
      await this.runnerLoop.start();
      this._state = 'running';
      logger.info(
        { group: config.kafka.group_id, topic: topics.events, resourceTypes: this.registry.resourceTypes() },
        'consuming',
      );
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

  private async shutdown(): Promise<void> {
    const { logger, config } = this.deps;
    this._state = 'stopping';
    logger.info({ pending: this.pending }, 'stopping: no new messages will be fetched');
    try {
      await this.consumer?.stop();
      if (this.runnerLoop) {
        const drained = this.runnerLoop.drain();
        const grace = new Promise<'grace'>((r) => setTimeout(r, config.consumer.shutdown_grace, 'grace').unref());
        if ((await Promise.race([drained, grace])) === 'grace') {
          logger.warn({ pending: this.pending }, 'shutdown grace elapsed: cancelling running operations');
          this.cancel.abort(new Error('shutdown'));
          await drained;
        }
      }
    } finally {
      await this.disconnect();
      this._state = 'stopped';
      logger.info('stopped');
    }
  }

  private async disconnect(): Promise<void> {
    await Promise.allSettled([this.consumer?.disconnect(), this.producer?.disconnect()]);
  }
}
