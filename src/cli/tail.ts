import { randomUUID } from 'node:crypto';
import { AvroCodec, HttpSchemaRegistry, SchemaCatalog } from '../codec/index.js';
import { errorMessage } from '../errors/index.js';
import { createKafka } from '../kafka/client.js';
import { verifyKafkaAccess } from '../kafka/security.js';
import { cliLogger, loadCliConfig, type CommonOptions } from './common.js';
import { follow, type FollowOptions } from './follow.js';

export interface TailOptions extends CommonOptions {
  topic?: string;
  fromBeginning?: boolean;
  count?: number;
  timeout?: number;
  eventId?: string[];
  sliver?: string;
  deadLetters?: boolean;
  follow?: boolean;
}

/**
 * `amh tail`: decode the reply topic (or `--dead-letters`) and print one JSON
 * object per line. Exits after `--count` matching records, or with status 2
 * when `--timeout` seconds pass first.
 */
export async function tailCommand(opts: TailOptions): Promise<void> {
  const config = loadCliConfig(opts);
  const logger = cliLogger(config.logging.level === 'info' ? 'warn' : config.logging.level, config.logging.format);
  const url = config.kafka.schema_registry.url;
  const codec = new AvroCodec(SchemaCatalog.load(), url ? new HttpSchemaRegistry(url) : undefined);
  const topic = opts.topic ?? (opts.deadLetters ? config.kafka.topics.dead_letter : config.kafka.topics.replies);
  const clientId = `${config.kafka.client_id}-tail`;
  await verifyKafkaAccess(config.kafka, { clientId, logger, deadlineMs: config.kafka.startup_timeout });
  const kafka = createKafka(config.kafka, { clientId, logger });
  if (opts.follow) {
    process.exitCode = await followCommand(opts, { kafka, codec, replies: opts.topic ?? config.kafka.topics.replies, progress: config.kafka.topics.progress });
    return;
  }
  // A throwaway group: tailing never moves the service's offsets.
  const consumer = kafka.consumer({ groupId: `amh-tail-${randomUUID()}` });
  const wanted = opts.eventId ? new Set(opts.eventId) : null;
  let printed = 0;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: opts.fromBeginning ?? false });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      let line: Record<string, unknown>;
      if (opts.deadLetters) {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, v?.toString()]));
        line = { partition, offset: message.offset, key: message.key?.toString() ?? null, headers, value_base64: message.value?.toString('base64') ?? null };
      } else {
        try {
          const { value } = await codec.decode('result', message.value);
          if (wanted && !wanted.has(value.event_id)) return;
          if (opts.sliver && value.sliver_id !== opts.sliver) return;
          line = { ...value };
        } catch (err) {
          line = { partition, offset: message.offset, undecodable: errorMessage(err) };
        }
      }
      process.stdout.write(`${JSON.stringify(line)}\n`);
      printed++;
      if (opts.count !== undefined && printed >= opts.count) finish(0);
    },
  });
  const timer = opts.timeout ? setTimeout(() => finish(2), opts.timeout * 1000) : null;
  const onSignal = (): void => finish(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const code = await finished;
  if (timer) clearTimeout(timer);
  await consumer.disconnect();
  if (code !== 0) process.stderr.write(`amh tail: timed out after ${opts.timeout}s with ${printed} record(s)\n`);
  process.exitCode = code;
}

/** `--follow`: live progress and results until `--count` results, `--timeout` (status 2) or a signal. */
async function followCommand(opts: TailOptions, topics: Pick<FollowOptions, 'kafka' | 'codec' | 'replies' | 'progress'>): Promise<number> {
  const stopped = new Promise<number>((resolve) => {
    if (opts.timeout) setTimeout(() => resolve(2), opts.timeout * 1000).unref();
    process.once('SIGINT', () => resolve(0));
    process.once('SIGTERM', () => resolve(0));
  });
  const code = await follow({
    ...topics,
    fromBeginning: opts.fromBeginning ?? false,
    eventIds: opts.eventId ? new Set(opts.eventId) : null,
    sliver: opts.sliver ?? null,
    ...(opts.count !== undefined ? { count: opts.count } : {}),
    out: process.stdout,
    err: process.stderr,
    stopped,
  });
  if (code === 2) process.stderr.write(`amh tail: timed out after ${opts.timeout}s\n`);
  return code;
}
