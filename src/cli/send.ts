import { randomUUID } from 'node:crypto';
import { KeyPartitioner } from '../kafka/partition-of.js';
import { AvroCodec, SchemaCatalog } from '../codec/index.js';
import { ValidationError } from '../errors/index.js';
import { createKafka } from '../kafka/client.js';
import { verifyKafkaAccess } from '../kafka/security.js';
import { cliLogger, loadCliConfig, type CommonOptions } from './common.js';
import { readEvents } from './event-file.js';

export interface SendOptions extends CommonOptions {
  topic?: string;
  schemaVersion?: number;
  sliver?: string;
  sequence?: number;
}

/**
 * `amh send FILE`: publish events exactly as the AM would: single-object
 * Avro, keyed by sliver_id. A file holds one event, a list of events, or
 * several YAML documents. `event_id` and `timestamp` are filled in if absent.
 */
export async function sendCommand(file: string, opts: SendOptions): Promise<void> {
  const config = loadCliConfig(opts);
  const logger = cliLogger(config.logging.level === 'info' ? 'warn' : config.logging.level, config.logging.format);
  const catalog = SchemaCatalog.load();
  const codec = new AvroCodec(catalog);
  const version =
    opts.schemaVersion === undefined
      ? undefined
      : catalog.versions('event').find((v) => v.version === opts.schemaVersion);
  if (opts.schemaVersion !== undefined && !version) {
    throw new ValidationError(`--schema-version ${opts.schemaVersion}: no schemas/event/v${opts.schemaVersion}.avsc`);
  }
  const events = readEvents(file).map((e): Record<string, unknown> => ({
    ...e,
    ...(opts.sliver ? { sliver_id: opts.sliver } : {}),
    ...(opts.sequence !== undefined ? { sequence: opts.sequence } : {}),
    event_id: e.event_id ?? randomUUID(),
    timestamp: e.timestamp ?? Date.now(),
  }));
  const messages = events.map((e) => ({ key: String(e.sliver_id), value: codec.encodeChecked('event', e, version) }));
  const clientId = `${config.kafka.client_id}-send`;
  await verifyKafkaAccess(config.kafka, { clientId, logger, deadlineMs: config.kafka.startup_timeout });
  const producer = createKafka(config.kafka, { clientId, logger }).producer({ createPartitioner: KeyPartitioner });
  await producer.connect();
  try {
    const topic = opts.topic ?? config.kafka.topics.events;
    await producer.send({ topic, acks: -1, messages });
    for (const e of events) {
      process.stdout.write(`${JSON.stringify({ sent: e.event_id, sliver_id: e.sliver_id, operation: e.operation, topic })}\n`);
    }
  } finally {
    await producer.disconnect();
  }
}
