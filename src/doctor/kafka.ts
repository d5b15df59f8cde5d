import kafkajs, { type Admin } from 'kafkajs';
import { pino } from 'pino';
import type { ResolvedConfig } from '../config/index.js';
import { errorMessage } from '../errors/index.js';
import { kafkaFromConfig } from '../kafka/from-config.js';
import { asKafkaSecurityError } from '../kafka/security.js';
import { expectedTopics, type ExpectedTopic } from '../kafka/topic-specs.js';
import type { Logger } from '../observability/logger.js';
import { fail, pass, skip, type CheckResult } from './types.js';

const { ConfigResourceTypes } = kafkajs;

/**
 * The broker answers with the configured connection settings (the same client every command builds), then each of
 * the four topics exists as `amh topics create` makes it: the events topic with `kafka.partitions` partitions, the
 * state topic compacted and with as many partitions as the events topic (co-partitioned), the others not compacted.
 */
export async function checkKafka(config: ResolvedConfig, timeoutMs: number): Promise<CheckResult[]> {
  const expected = expectedTopics(config.kafka);
  const title = `broker reachable (${config.kafka.brokers.join(', ')})`;
  const recorder = errorRecorder();
  const admin = kafkaFromConfig(config, { command: 'doctor', logger: recorder.logger }).admin();
  const deadline = Date.now() + timeoutMs;
  const within = <T>(what: string, work: Promise<T>) => withDeadline(work, deadline, () => `${what}: no answer within ${Math.round(timeoutMs / 1000)} s${recorder.last() ? ` (last error: ${recorder.last()})` : ''}`);
  try {
    const cluster = await within('connecting', admin.connect().then(() => admin.describeCluster()));
    const brokers = cluster.brokers.map((b) => `${b.host}:${b.port}`).join(', ');
    const results: CheckResult[] = [pass('broker', title, `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s): ${brokers}`)];
    try {
      results.push(...(await within('reading topics', checkTopics(admin, expected, config))));
    } catch (err) {
      results.push(...expected.map((t) => fail(`topic:${t.role}`, topicTitle(t), errorMessage(err))));
    }
    return results;
  } catch (err) {
    return [fail('broker', title, errorMessage(asKafkaSecurityError(err, config.kafka) ?? err)), ...expected.map((t) => skip(`topic:${t.role}`, topicTitle(t), 'needs the broker'))];
  } finally {
    // A client still retrying an unreachable broker must not hold the answer up.
    await withDeadline(admin.disconnect(), Date.now() + 2_000, () => 'disconnect').catch(() => undefined);
  }
}

async function checkTopics(admin: Admin, expected: readonly ExpectedTopic[], config: ResolvedConfig): Promise<CheckResult[]> {
  const existing = new Set(await admin.listTopics());
  const present = expected.filter((t) => existing.has(t.topic));
  const { topics } = present.length > 0 ? await admin.fetchTopicMetadata({ topics: present.map((t) => t.topic) }) : { topics: [] };
  const described =
    present.length > 0
      ? await admin.describeConfigs({
          resources: present.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.topic, configNames: ['cleanup.policy'] })),
          includeSynonyms: false,
        })
      : { resources: [] };
  const partitions = (topic: string) => topics.find((t) => t.name === topic)?.partitions.length ?? 0;
  const policy = (topic: string) =>
    described.resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue ?? 'delete';
  const events = expected.find((t) => t.role === 'events') as ExpectedTopic;
  return expected.map((t) => {
    const title = topicTitle(t);
    const id = `topic:${t.role}`;
    if (!existing.has(t.topic)) return fail(id, title, `${t.topic} (${t.configPath}) does not exist: run \`amh topics create\``);
    const count = partitions(t.topic);
    const cleanup = policy(t.topic);
    const problems: string[] = [];
    if (t.cleanupPolicy === 'compact' && cleanup !== 'compact') problems.push(`cleanup.policy is ${cleanup}, expected compact (the ledgers must outlive retention)`);
    if (t.cleanupPolicy === 'delete' && cleanup.includes('compact')) problems.push(`cleanup.policy is ${cleanup}: compaction would drop a sliver's earlier records`);
    if (t.role === 'events' && count !== config.kafka.partitions) {
      problems.push(`${count} partitions, kafka.partitions says ${config.kafka.partitions} (set it to ${count} if the topic was grown on purpose)`);
    }
    if (t.role === 'state' && existing.has(events.topic) && count !== partitions(events.topic)) {
      problems.push(`${count} partitions, the events topic ${events.topic} has ${partitions(events.topic)}: they must be co-partitioned`);
    }
    const found = `${t.topic}: ${count} partitions, cleanup.policy=${cleanup}`;
    return problems.length > 0 ? fail(id, title, `${t.topic}: ${problems.join('; ')}`) : pass(id, title, found);
  });
}

function topicTitle(t: ExpectedTopic): string {
  return `topic ${t.role} (${t.configPath})${t.role === 'state' ? ' compacted, co-partitioned with events' : ''}`;
}

/** kafkajs logs why a connection failed; the last such line explains a timeout better than the timeout alone. */
function errorRecorder(): { logger: Logger; last(): string | undefined } {
  let last: string | undefined;
  const logger = pino(
    { level: 'warn' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { msg?: string; error?: string };
        last = [entry.msg, entry.error].filter(Boolean).join(': ');
      },
    },
  );
  return { logger, last: () => last };
}

function withDeadline<T>(work: Promise<T>, deadline: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(describe())), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
