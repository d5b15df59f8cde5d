import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel as KafkaLogLevel, type ISocketFactory, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { ResolvedKafkaConfig } from '../config/index.js';
import type { ResolvedSasl, ResolvedSsl } from '../config/security.js';
import type { Logger } from '../observability/logger.js';
import { installEncoderFastPaths, uninstallEncoderFastPaths } from './kafkajs-encoder.js';
import type { KafkajsPatch } from './kafkajs-internals.js';
import { installIdleQuiet, uninstallIdleQuiet } from './kafkajs-idle.js';
import { installResumeWake, uninstallResumeWake } from './kafkajs-resume.js';

/** One run-time patch of kafkajs: how it stands in this process, what is lost without it, and its switches. */
export interface KafkajsPatchEntry {
  name: string;
  /** Where it stood when this module loaded. */
  patch: KafkajsPatch;
  without: string;
  install(): KafkajsPatch;
  /** Takes it out (the bench's stock relays). */
  uninstall(): void;
}

function installed(name: string, without: string, install: () => KafkajsPatch, uninstall: () => void): KafkajsPatchEntry {
  return { name, without, install, uninstall, patch: install() };
}

/**
 * Every run-time patch of kafkajs, installed as soon as this module loads: before any client of this package
 * (or of a process importing it) sends a request, so every request of the process goes the same way.
 * `amh run` logs each at start-up; the bench takes them out for its stock relays.
 * - encoder fast paths (kafkajs-encoder.ts): varints without garbage, pooled buffers;
 * - resume wake-up (kafkajs-resume.ts): the fetch loop wakes on resume();
 * - idle request queues (kafkajs-idle.ts): no timer loop while nothing is pending.
 */
export const kafkajsPatches: readonly KafkajsPatchEntry[] = [
  installed('encoder fast paths', 'produce requests cost more CPU', installEncoderFastPaths, uninstallEncoderFastPaths),
  installed('resume wake-up', 'after each pause at the queue bound, fetching restarts only when its 250 ms fetch wait ends', installResumeWake, uninstallResumeWake),
  installed('idle request queues', 'every broker connection runs a 1 ms timer loop, about 50 ms of CPU a second when idle', installIdleQuiet, uninstallIdleQuiet),
];

/** What every Kafka client of this package is built from: `config.kafka` (brokers, `ssl`, `sasl`) plus these. */
export interface KafkaClientOptions {
  /** Names the process to the broker, e.g. `${config.kafka.client_id}-tail`. */
  clientId: string;
  /** kafkajs' own logs go through a child of it (`component: kafkajs`). */
  logger: Logger;
  /** Default: kafkajs' own (TCP, or TLS with `kafka.ssl`). Tests pass one that routes every broker connection through a fault proxy. */
  socketFactory?: ISocketFactory;
}

/** The part of `config.kafka` a client needs. */
export type KafkaConnectionConfig = Pick<ResolvedKafkaConfig, 'brokers' | 'ssl' | 'sasl'>;

/**
 * Everything a process needs to reach the brokers as this service does, as
 * plain data: certificate files already read, secrets already revealed. It
 * is what crosses to the ledger restore child (state/restore-child.ts, over
 * IPC, never logged), so the child connects exactly like the service.
 */
export interface KafkaConnection {
  brokers: readonly string[];
  clientId: string;
  tls?: { ca?: string[]; cert?: string; key?: string; passphrase?: string; verifyHostname: boolean };
  sasl?: SASLOptions;
}

/** The connection `config.kafka` describes, for a client named `clientId`. */
export function kafkaConnection(kafka: KafkaConnectionConfig, clientId: string): KafkaConnection {
  return {
    brokers: [...kafka.brokers],
    clientId,
    ...(kafka.ssl ? { tls: tlsSettings(kafka.ssl) } : {}),
    ...(kafka.sasl ? { sasl: saslOptions(kafka.sasl) } : {}),
  };
}

/**
 * The one place that turns the resolved configuration into kafkajs client
 * options: brokers, client id, TLS (`kafka.ssl`), SASL (`kafka.sasl`), retry
 * policy and logging. Every Kafka client of the service and the CLI is built
 * from it (through `createKafka`), so all of them connect the same way.
 */
export function kafkaClientConfig(kafka: KafkaConnectionConfig, options: KafkaClientOptions): KafkaConfig {
  return connectionClientConfig(kafkaConnection(kafka, options.clientId), options);
}

/** kafkajs client options for a connection (see `kafkaClientConfig`). */
export function connectionClientConfig(connection: KafkaConnection, options: Omit<KafkaClientOptions, 'clientId'>): KafkaConfig {
  const log = options.logger.child({ component: 'kafkajs' });
  return {
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    ...(connection.tls ? { ssl: tlsOptions(connection.tls) } : {}),
    ...(connection.sasl ? { sasl: connection.sasl } : {}),
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
  };
}

/**
 * A kafkajs client for `config.kafka`, whose own logs go through our pino logger.
 * Call `verifyKafkaAccess` (kafka/security.ts) once before connecting, so a wrong
 * password or an untrusted certificate stops start-up at once with a clear error.
 */
export function createKafka(kafka: KafkaConnectionConfig, options: KafkaClientOptions): Kafka {
  return new Kafka(kafkaClientConfig(kafka, options));
}

/** A kafkajs client for a connection handed over by another process (the ledger restore child). */
export function createKafkaFor(connection: KafkaConnection, options: Omit<KafkaClientOptions, 'clientId'>): Kafka {
  return new Kafka(connectionClientConfig(connection, options));
}

/** The TLS settings of `kafka.ssl`, with its files read. */
function tlsSettings(ssl: ResolvedSsl): NonNullable<KafkaConnection['tls']> {
  return {
    ...(ssl.ca_file ? { ca: [readFileSync(ssl.ca_file, 'utf8')] } : {}),
    ...(ssl.cert_file ? { cert: readFileSync(ssl.cert_file, 'utf8') } : {}),
    ...(ssl.key_file ? { key: readFileSync(ssl.key_file, 'utf8') } : {}),
    ...(ssl.key_passphrase ? { passphrase: ssl.key_passphrase.reveal() } : {}),
    verifyHostname: ssl.verify_hostname,
  };
}

/** Node TLS options: the CA, the client certificate, and hostname checks unless turned off (unsafe). */
function tlsOptions(tls: NonNullable<KafkaConnection['tls']>): ConnectionOptions {
  const { verifyHostname, ...material } = tls;
  // Verification of the chain stays on whatever the config says: only the hostname check can be turned off.
  return { rejectUnauthorized: true, ...material, ...(verifyHostname ? {} : { checkServerIdentity: () => undefined }) };
}

function saslOptions(sasl: ResolvedSasl): SASLOptions {
  const credentials = { username: sasl.username, password: sasl.password.reveal() };
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', ...credentials };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', ...credentials };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', ...credentials };
  }
}
