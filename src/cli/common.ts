import { loadConfig, type ResolvedConfig } from '../config/index.js';
import { AmhError, KafkaSecurityError } from '../errors/index.js';
import { createLogger, type LogFormat, type Logger } from '../observability/logger.js';

/** Options every subcommand accepts. */
export interface CommonOptions {
  config?: string;
  brokers?: string;
  group?: string;
  logLevel?: string;
}

export function loadCliConfig(opts: CommonOptions): ResolvedConfig {
  return loadConfig({
    ...(opts.config ? { path: opts.config } : {}),
    overrides: (raw) => {
      const kafka = (raw.kafka ??= {}) as Record<string, unknown>;
      if (opts.brokers) kafka.brokers = opts.brokers.split(',').map((b) => b.trim());
      if (opts.group) kafka.group_id = opts.group;
      if (opts.logLevel) raw.logging = { ...((raw.logging as object) ?? {}), level: opts.logLevel };
    },
  });
}

/** Logs go to stderr so stdout stays machine-readable (tail, send); readable lines when stderr is a terminal. */
export function cliLogger(level: string, format: LogFormat = 'auto'): Logger {
  return createLogger({ level, destination: 2, format });
}

/** Exit statuses (sysexits.h): a configuration error, and Kafka refusing the configured TLS/SASL. */
export const EXIT_CONFIG = 78;
export const EXIT_KAFKA_SECURITY = 77;

/** Print an error the way a user needs it (config errors name their path, security errors the keys to check) and exit non-zero. */
export function fail(err: unknown): never {
  const message = err instanceof AmhError ? `${err.name}: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`amh: ${message}\n`);
  process.exit(err instanceof KafkaSecurityError ? EXIT_KAFKA_SECURITY : err instanceof AmhError && err.code === 'CONFIG' ? EXIT_CONFIG : 1);
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got '${value}'`);
  return n;
}
