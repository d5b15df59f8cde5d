import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ISocketFactory } from 'kafkajs';
import { AvroCodec, SchemaCatalog, type SchemaVersion, type SliverResult } from '../../src/codec/index.js';
import type { ResolvedConfig } from '../../src/config/index.js';
import { createLogger, silentLogger, type Logger } from '../../src/observability/logger.js';
import type { PlaybookRunner } from '../../src/ansible/types.js';
import type { AnyHandlerPlugin } from '../../src/handlers/types.js';
import type { VmSettings } from '../../src/handlers/vm/settings.js';
import { Service } from '../../src/service.js';
import { testConfig } from './config.js';
import { collectMessages, createTopics, kafkaBrokers, kafkaClient, produceRaw, uniqueName, type CollectedMessage } from './kafka.js';

export const catalog = SchemaCatalog.load();
export const codec = new AvroCodec(catalog);

export interface TestService {
  service: Service;
  config: ResolvedConfig;
  topics: { events: string; replies: string; dead_letter: string; state: string; drift?: string };
  stateDir: string;
  /** Publish events as the AM would (single-object Avro keyed by sliver_id). */
  send(...events: Record<string, unknown>[]): Promise<void>;
  /** Publish with an older event schema version. */
  sendWith(version: SchemaVersion, event: Record<string, unknown>): Promise<void>;
  /** Read `count` results from the reply topic (from its beginning) and decode them. */
  replies(count: number, timeoutMs?: number): Promise<SliverResult[]>;
  deadLetters(count: number): Promise<CollectedMessage[]>;
  /** The sim substrate's record of a VM, or undefined when it does not exist. */
  vm(instanceName: string): Record<string, unknown> | undefined;
  stop(): Promise<void>;
}

/** Fresh topic names for one test's service. */
export function testTopics(): TestService['topics'] {
  return { events: uniqueName('events'), replies: uniqueName('replies'), dead_letter: uniqueName('dlq'), state: uniqueName('state'), drift: uniqueName('drift') };
}

/** The service's topics as `amh run` would create them: the state topic compacted, co-partitioned with events. */
export async function createServiceTopics(topics: TestService['topics'], partitions = 1): Promise<void> {
  await createTopics([topics.events, topics.replies, topics.dead_letter, ...(topics.drift ? [topics.drift] : [])], partitions);
  await createTopics([topics.state], partitions, { 'cleanup.policy': 'compact' });
}

/**
 * A real Service on the test broker with its own topics, group and sim
 * substrate directory, running real ansible-playbook. AMH_TEST_LOG=debug shows its log.
 */
export interface TestServiceOptions {
  partitions?: number;
  plugins?: readonly AnyHandlerPlugin[];
  runner?: PlaybookRunner;
  /** Reuse these topics and this group (e.g. a restart after a stop); default: fresh ones. */
  topics?: TestService['topics'];
  groupId?: string;
  /** Adjust the validated configuration before the service is built (values validation would refuse, e.g. a retention of seconds). */
  configure?: (config: ResolvedConfig) => void;
  /** Route the service's broker connections, e.g. through a fault proxy (fault-proxy.ts `proxiedSocketFactory`). */
  socketFactory?: ISocketFactory;
  /** The service's logger; default: silent, or stderr at AMH_TEST_LOG's level. */
  logger?: Logger;
}

export async function startTestService(
  extra: Record<string, Record<string, unknown>> = {},
  options: TestServiceOptions = {},
): Promise<TestService> {
  const topics = options.topics ?? testTopics();
  if (!options.topics) await createServiceTopics(topics, options.partitions ?? 1);
  const config = testConfig({
    kafka: { brokers: kafkaBrokers(), group_id: options.groupId ?? uniqueName('amh'), topics, create_topics: false, session_timeout: '10s' },
    ...extra,
  });
  options.configure?.(config);
  const level = process.env.AMH_TEST_LOG;
  const service = new Service({
    config,
    logger: options.logger ?? (level ? createLogger({ level, destination: 2 }) : silentLogger()),
    ...(options.plugins ? { plugins: options.plugins } : {}),
    ...(options.runner ? { runner: options.runner } : {}),
    ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
  });
  const stateDir = (service.registry.resolve('VM').settings as VmSettings).substrate.state_dir;
  await service.start();
  const encode = (e: Record<string, unknown>, version?: SchemaVersion) => ({
    key: String(e.sliver_id),
    value: codec.encode('event', e, version),
  });
  return {
    service,
    config,
    topics,
    stateDir,
    send: (...events) => produceRaw(topics.events, events.map((e) => encode(e))),
    sendWith: (version, event) => produceRaw(topics.events, [encode(event, version)]),
    replies: async (count, timeoutMs = 90_000) => {
      const messages = await collectMessages(topics.replies, { count, timeoutMs });
      return Promise.all(messages.map(async (m) => (await codec.decode('result', m.value)).value));
    },
    deadLetters: (count) => collectMessages(topics.dead_letter, { count }),
    vm: (instanceName) => {
      const file = join(stateDir, 'vms', `${instanceName}.json`);
      return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : undefined;
    },
    stop: () => service.stop(),
  };
}

/** Read `topic` from its beginning until a result of `eventId` comes, and return it. */
export async function resultOf(topic: string, eventId: string, timeoutMs = 90_000): Promise<SliverResult> {
  const consumer = kafkaClient('amh-test-result').consumer({ groupId: uniqueName('result'), maxWaitTimeInMs: 500 });
  let timer: NodeJS.Timeout | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<SliverResult>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no result of ${eventId} on ${topic} within ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const { value } = await codec.decode('result', message.value);
            if (value.event_id === eventId) resolve(value);
          },
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}
