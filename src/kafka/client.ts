import { Kafka, logLevel as KafkaLogLevel, type ISocketFactory, type LogEntry } from 'kafkajs';
import type { Logger } from '../observability/logger.js';

/**
 * Everything a process needs to reach the brokers as this service does, and
 * nothing that cannot cross a process boundary (it is structured-cloned to
 * the ledger restore child, state/restore-child.ts): security settings
 * (TLS, SASL) belong here, so the child connects exactly like the service.
 */
export interface KafkaConnection {
  brokers: readonly string[];
  clientId: string;
}

export interface KafkaClientOptions extends KafkaConnection {
  logger: Logger;
  /** Default: kafkajs' own (plain TCP). Tests pass one that routes every broker connection through a fault proxy. */
  socketFactory?: ISocketFactory;
}

/** A kafkajs client whose own logs go through our pino logger. */
export function createKafka(options: KafkaClientOptions): Kafka {
  const log = options.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: KafkaLogLevel.WARN,
    // kafkajs doubles its wait up to 30 s by default: after a network cut heals, a consumer could sleep that long
    // before trying again. Capped like the pipeline's own step retries (pipeline/retry.ts).
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 5_000 },
    ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const fields = { ...rest, namespace: entry.namespace };
      if (entry.level === KafkaLogLevel.ERROR) log.error(fields, message);
      else if (entry.level === KafkaLogLevel.WARN) log.warn(fields, message);
      else if (entry.level === KafkaLogLevel.INFO) log.info(fields, message);
      else log.debug(fields, message);
    },
  });
}
