import { errorMessage } from '../errors/index.js';
import { checkKafka } from '../doctor/kafka.js';
import { formatReport, passed } from '../doctor/doctor.js';
import { kafkaFromConfig } from '../kafka/from-config.js';
import { expectedTopics, toTopicSpec } from '../kafka/topic-specs.js';
import { ensureTopics } from '../kafka/topics.js';
import { cliLogger, loadCliConfig, type CommonOptions } from './common.js';

/**
 * `amh topics create`: the topics exactly as `amh run` would create them (and as `amh doctor` expects them);
 * existing ones are left as they are. Then the doctor's topic checks run, so a pre-existing topic that does not
 * fit (not compacted, other partition count) is reported and the exit status is 1.
 */
export async function topicsCreateCommand(opts: CommonOptions): Promise<void> {
  const config = loadCliConfig(opts);
  const logger = cliLogger(opts.logLevel ?? config.logging.level);
  const expected = expectedTopics(config.kafka);
  const kafka = kafkaFromConfig(config, { command: 'topics', logger });
  const admin = kafka.admin();
  let before: Set<string>;
  await admin.connect();
  try {
    before = new Set(await admin.listTopics());
  } finally {
    await admin.disconnect();
  }
  await ensureTopics(kafka, expected.map(toTopicSpec), logger, { deadlineMs: config.kafka.startup_timeout });
  for (const t of expected) {
    const what = before.has(t.topic) ? 'exists' : 'created';
    process.stdout.write(`${what.padEnd(7)}  ${t.topic}  (${t.configPath}, ${t.numPartitions} partitions, cleanup.policy=${t.cleanupPolicy})\n`);
  }
  const checks = await checkKafka(config, config.kafka.startup_timeout).catch((err: unknown) => {
    throw new Error(`topics created, but checking them failed: ${errorMessage(err)}`, { cause: err });
  });
  const topicChecks = checks.filter((c) => c.id.startsWith('topic:'));
  if (!passed(topicChecks)) {
    process.stdout.write(`\n${formatReport(topicChecks)}`);
    process.exitCode = 1;
  }
}
