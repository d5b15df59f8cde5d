import type { Kafka } from 'kafkajs';
import type { ResolvedConfig } from '../config/index.js';
import type { Logger } from '../observability/logger.js';
import { createKafka } from './client.js';

/**
 * A kafkajs client for a CLI command, built from the configuration the way
 * every command builds it (brokers, client id, TLS and SASL), so a command that works from this machine
 * means the service works from it.
 */
export function kafkaFromConfig(config: ResolvedConfig, options: { command: string; logger: Logger }): Kafka {
  return createKafka(config.kafka, { clientId: `${config.kafka.client_id}-${options.command}`, logger: options.logger });
}
