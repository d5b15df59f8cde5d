import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { KafkaSecurityError, errorMessage, type KafkaSecurityReason } from '../errors/index.js';
import { kafkaClientConfig, type KafkaClientOptions, type KafkaConnectionConfig } from './client.js';
import { tlsFailureReason } from './tls-codes.js';
import { retryTransient } from './transient.js';

// kafkajs is CommonJS: its error classes are reachable only through the default export.
const { KafkaJSAggregateError, KafkaJSSASLAuthenticationError } = kafkajs;

/** The SASL or TLS failure inside `err` (through kafkajs' retry wrappers and `cause`s), if any. */
function findSecurityFailure(err: unknown, depth = 0): { reason: KafkaSecurityReason; error: Error; code?: string } | undefined {
  if (!(err instanceof Error) || depth > 6) return undefined;
  if (err instanceof KafkaJSSASLAuthenticationError) return { reason: 'authentication', error: err };
  const code = (err as { code?: unknown }).code;
  const reason = tlsFailureReason(code);
  if (reason) return { reason, error: err, code: code as string };
  if (err instanceof KafkaJSAggregateError) {
    for (const e of err.errors) {
      const found = findSecurityFailure(e, depth + 1);
      if (found) return found;
    }
  }
  const cause = (err as { cause?: unknown }).cause;
  return cause !== err ? findSecurityFailure(cause, depth + 1) : undefined;
}

/**
 * Turns a SASL or TLS refusal (anywhere in `err`'s causes) into one
 * KafkaSecurityError whose message says what happened and which config keys
 * to check; `undefined` for anything else (an unreachable broker is not a
 * security failure).
 */
export function asKafkaSecurityError(err: unknown, kafka: KafkaConnectionConfig): KafkaSecurityError | undefined {
  if (err instanceof KafkaSecurityError) return err;
  const found = findSecurityFailure(err);
  if (!found) return undefined;
  const { reason, error, code } = found;
  const ca = kafka.ssl?.ca_file ?? "Node's built-in public CAs";
  const text = error.message.replace(/^Connection error: /, '').trim();
  const detail = code ? `${code}: ${text}` : text;
  const messages: Record<KafkaSecurityReason, () => string> = {
    authentication: () => {
      const sasl = kafka.sasl;
      const who = sasl ? `SASL ${sasl.mechanism.toUpperCase()} login of user '${sasl.username}' (password from ${sasl.password.source})` : 'SASL login';
      return `Kafka refused the ${who}: wrong password, unknown user, or a mechanism the listener does not offer. Check kafka.sasl.username, kafka.sasl.password_file / kafka.sasl.password_env and kafka.sasl.mechanism (${detail})`;
    },
    'untrusted-certificate': () =>
      `the broker's TLS certificate is not trusted (${detail}). kafka.ssl.ca_file (${ca}) must hold the CA that signed the brokers' certificates`,
    'hostname-mismatch': () =>
      `the broker's TLS certificate does not name the address it was reached at (${detail}). Use broker addresses that the certificate names in kafka.brokers (and in the broker's advertised.listeners), or reissue the certificate; kafka.ssl.verify_hostname: false turns the check off (unsafe)`,
    'client-certificate': () =>
      `the broker refused this client's TLS certificate (${detail}). Check kafka.ssl.cert_file and kafka.ssl.key_file: the listener wants a client certificate signed by a CA it trusts`,
    'not-tls': () => `the broker does not speak TLS on this port (${detail}). Check kafka.ssl (enabled) against the listener's protocol and the ports in kafka.brokers`,
  };
  return new KafkaSecurityError(messages[reason](), reason, { cause: err });
}

/** What is unsafe about the configured security, for a warning at start-up. */
export function securityWarnings(kafka: KafkaConnectionConfig): string[] {
  const warnings: string[] = [];
  if (kafka.ssl && !kafka.ssl.verify_hostname) {
    warnings.push('kafka.ssl.verify_hostname is false: any certificate from the configured CA is accepted for any broker (unsafe)');
  }
  if (kafka.sasl && !kafka.ssl) {
    warnings.push(
      kafka.sasl.mechanism === 'plain'
        ? 'kafka.sasl with mechanism plain but no kafka.ssl: the password crosses the network in clear text'
        : 'kafka.sasl without kafka.ssl: the login is protected, the messages are not',
    );
  }
  return warnings;
}

export interface VerifyKafkaAccessOptions extends KafkaClientOptions {
  /** Keep retrying an unreachable broker this long (e.g. `config.kafka.startup_timeout`). */
  deadlineMs: number;
  signal?: AbortSignal;
}

/**
 * One connection with the configured security, made before any real client
 * connects: a wrong password, an untrusted certificate, a hostname mismatch or
 * a refused client certificate throws a KafkaSecurityError at once (kafkajs
 * itself would retry TLS failures for half a minute, logging each). An
 * unreachable broker is retried until `deadlineMs` (a RetryDeadlineError then).
 * Logs the unsafe parts of the configuration as warnings.
 */
export async function verifyKafkaAccess(kafka: KafkaConnectionConfig, options: VerifyKafkaAccessOptions): Promise<void> {
  const { deadlineMs, signal, ...clientOptions } = options;
  for (const warning of securityWarnings(kafka)) options.logger.warn(warning);
  await retryTransient('connecting to Kafka', () => connectOnce(kafka, clientOptions), {
    deadlineMs,
    logger: options.logger,
    ...(signal ? { signal } : {}),
  });
}

async function connectOnce(kafka: KafkaConnectionConfig, options: KafkaClientOptions): Promise<void> {
  // No kafkajs retries and no kafkajs logs: this one attempt either works or says why.
  const client = new Kafka({ ...kafkaClientConfig(kafka, options), logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = client.admin();
  try {
    await admin.connect();
  } catch (err) {
    throw asKafkaSecurityError(err, kafka) ?? err;
  } finally {
    await admin.disconnect().catch((err: unknown) => options.logger.debug({ err: errorMessage(err) }, 'disconnecting the access check'));
  }
}
