export { loadConfig, DEFAULT_CONFIG_PATH, type LoadOptions, type ResolvedConfig, type ResolvedKafkaConfig } from './load.js';
export { Secret } from './secret.js';
export { DEFAULT_SASL_PASSWORD_ENV, type ResolvedSasl, type ResolvedSsl, type SaslMechanism } from './security.js';
export { configSchema, type HandlerEntry, type OperationTimeouts, type RepairPolicy, type RetryPolicy, type ParsedConfig, type RawConfig } from './schema.js';
export { duration, parseDuration } from './duration.js';
export { formatIssues, parseOrThrow } from './issues.js';
export { applyEnvOverrides, envNameFor, LEGACY_ENV, type EnvOrigins } from './env.js';
