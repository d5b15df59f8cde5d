/**
 * One small error hierarchy. Every error carries a stable `code` (compare by
 * class or code, never by message text), a `retriable` flag used by the retry
 * policy, and an optional `cause`.
 */
import type { SliverState } from '../codec/types.js';

export interface AmhErrorOptions {
  cause?: unknown;
  retriable?: boolean;
}

export class AmhError extends Error {
  readonly code: string = 'AMH_ERROR';
  readonly retriable: boolean;
  /**
   * The sliver as a failed operation left it in place (a create kept for
   * diagnosis, `handlers.<h>.keep_failed`): the FAILED reply's `sliver`.
   */
  sliver?: Partial<SliverState>;

  constructor(message: string, options: AmhErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** Invalid configuration at start-up. The message names the config path. */
export class ConfigError extends AmhError {
  override readonly code: string = 'CONFIG';
}

/**
 * A local ledger store in `runtime.ledger_dir` is held by another instance on this host (or another
 * service in this process): two owners would wipe and stage over each other. With `slots`, every one
 * of the store's slots (`dir`, `dir.1`, ...) is held.
 */
export class StoreInUseError extends ConfigError {
  override readonly code = 'STORE_IN_USE';
  constructor(
    readonly dir: string,
    slots = 1,
  ) {
    super(
      slots > 1
        ? `runtime.ledger_dir: the local ledger store ${dir} and its ${slots - 1} other slots are all in use by other instances on this host; give this one its own runtime.ledger_dir`
        : `runtime.ledger_dir: the local ledger store ${dir} is in use by another instance on this host`,
    );
  }
}

/** Bytes on the wire that cannot be turned into an event (goes to the dead-letter topic). */
export class DecodeError extends AmhError {
  override readonly code = 'DECODE';
}

/** A decoded event that breaks a rule (answered REJECTED, never retried). */
export class ValidationError extends AmhError {
  override readonly code: string = 'VALIDATION';
}

/** No handler is registered for the event's resource type. */
export class UnknownResourceTypeError extends ValidationError {
  override readonly code = 'UNKNOWN_RESOURCE_TYPE';
  constructor(
    readonly resourceType: string,
    readonly knownTypes: readonly string[],
  ) {
    super(`no handler for resource type '${resourceType}'; known types: ${knownTypes.join(', ')}`);
  }
}

/** The handler does not implement the requested operation. */
export class UnsupportedOperationError extends ValidationError {
  override readonly code = 'UNSUPPORTED_OPERATION';
}

/** A playbook run that ended without success. `step` names the playbook/task that failed. */
export class PlaybookError extends AmhError {
  override readonly code: string = 'PLAYBOOK_FAILED';
  constructor(
    message: string,
    readonly step: string | undefined,
    options: AmhErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** A playbook run (or a whole operation) exceeded its timeout and was killed. */
export class OperationTimeoutError extends PlaybookError {
  override readonly code = 'TIMED_OUT';
}

/** A playbook run (or a whole operation) was cancelled through its AbortSignal. */
export class CancelledError extends PlaybookError {
  override readonly code = 'CANCELLED';
}

/** The substrate refused the request (e.g. a PCI device already attached elsewhere). */
export class SubstrateError extends PlaybookError {
  override readonly code = 'SUBSTRATE';
}

/**
 * Something outside the event is briefly unavailable (broker or registry
 * unreachable, no partition leader, a request timed out). The message is
 * retried with backoff while its partition waits: never dead-lettered, never
 * answered, never dropped.
 */
export class TransientError extends AmhError {
  override readonly code: string = 'TRANSIENT';
  constructor(message: string, options: AmhErrorOptions = {}) {
    super(message, { ...options, retriable: true });
  }
}

/** A transient failure that outlasted its retry deadline ("connecting to Kafka still failing after 60 s: ..."); `cause` is the last error. */
export class RetryDeadlineError extends TransientError {
  override readonly code = 'RETRY_DEADLINE';
}

/** The service cannot go on (e.g. the dead-letter limit, a loop that cannot be restarted): it stops with this reason and a non-zero exit. */
export class FatalError extends AmhError {
  override readonly code: string = 'FATAL';
}

/** Why Kafka refused this client's TLS or SASL (see src/kafka/security.ts). */
export type KafkaSecurityReason = 'authentication' | 'untrusted-certificate' | 'hostname-mismatch' | 'client-certificate' | 'not-tls';

/**
 * Kafka refused the configured security: a wrong password, a broker certificate
 * not signed by the configured CA, a hostname the certificate does not name, a
 * client certificate the broker does not accept. Waiting cannot fix it: start-up
 * stops at once with a message naming the config keys to check (`amh` exits 77).
 */
export class KafkaSecurityError extends AmhError {
  override readonly code = 'KAFKA_SECURITY';
  constructor(
    message: string,
    readonly reason: KafkaSecurityReason,
    options: AmhErrorOptions = {},
  ) {
    super(message, { ...options, retriable: false });
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
