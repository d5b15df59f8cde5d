import kafkajs from 'kafkajs';
import { sleep } from '../lib/abort.js';
import { AmhError, RetryDeadlineError, TransientError, errorMessage } from '../errors/index.js';
import { tlsFailureReason } from './tls-codes.js';

// kafkajs is CommonJS: its error classes are reachable only through the default export.
const {
  KafkaJSError,
  KafkaJSAggregateError,
  KafkaJSLockTimeout,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
  KafkaJSServerDoesNotSupportApiKey,
} = kafkajs;

/** Broker answers that no amount of waiting fixes, whatever kafkajs' `retriable` says. */
const PERMANENT_PROTOCOL_TYPES = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
]);

const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/**
 * True when waiting and trying again can succeed: the broker or registry is
 * unreachable or slow, a partition has no leader yet, a coordinator moved.
 * Looks through kafkajs' retry wrappers to the error that caused them.
 * Everything unknown is permanent.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  if (err instanceof AmhError) return false;
  if (err instanceof KafkaJSAggregateError) return err.errors.length > 0 && err.errors.every(isTransient);
  if (!(err instanceof KafkaJSError)) return false;
  if (err instanceof KafkaJSSASLAuthenticationError || err instanceof KafkaJSServerDoesNotSupportApiKey) return false;
  // Extends KafkaJSNonRetriableError, but another client holding a lock for a moment is the textbook transient case.
  if (err instanceof KafkaJSLockTimeout) return true;
  // The retrier gave up (its own retries exhausted) or bailed: the cause decides.
  if (err instanceof KafkaJSNumberOfRetriesExceeded || err instanceof KafkaJSNonRetriableError) {
    return err.cause !== undefined && err.cause !== err && isTransient(err.cause);
  }
  if (err instanceof KafkaJSProtocolError && PERMANENT_PROTOCOL_TYPES.has(err.type)) return false;
  // kafkajs marks every connection error retriable, a certificate the broker or we refuse included: no wait fixes those.
  if (tlsFailureReason((err as { code?: unknown }).code)) return false;
  // Connection errors, request timeouts, missing brokers, retriable protocol errors.
  return err.retriable;
}

/**
 * Whether a consumer kafkajs gave up on (`restart: false`) may be started
 * again: a transient cause, or a kafkajs error that is not known to be
 * permanent. kafkajs wraps some connection failures (a connection refused
 * while the broker restarts) in a KafkaJSNonRetriableError without their
 * cause, which `isTransient` cannot see through. Known permanent: refused
 * logins, untrusted certificates, authorization and unsupported API errors.
 */
export function isRestartable(err: unknown): boolean {
  if (isTransient(err)) return true;
  if (!(err instanceof KafkaJSError) || err instanceof KafkaJSSASLAuthenticationError || err instanceof KafkaJSServerDoesNotSupportApiKey) return false;
  for (let e: unknown = err; e instanceof Error; e = e.cause === e ? undefined : e.cause) {
    if (e instanceof KafkaJSProtocolError && PERMANENT_PROTOCOL_TYPES.has(e.type)) return false;
    if (tlsFailureReason((e as { code?: unknown }).code)) return false;
    if (e instanceof KafkaJSSASLAuthenticationError) return false;
  }
  return true;
}

/** The broker refused a message or batch for its size: retrying the same bytes cannot succeed. */
export function isMessageTooLarge(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    if (e instanceof KafkaJSProtocolError && TOO_LARGE_TYPES.has(e.type)) return true;
    if (e instanceof KafkaJSAggregateError) return e.errors.some(isMessageTooLarge);
    if (!(e instanceof KafkaJSError) || e.cause === e) return false;
    e = e.cause;
  }
  return false;
}

/**
 * Capped exponential backoff with "equal jitter": for attempt n (0-based) the
 * base is min(maxDelayMs, initialDelayMs * 2^n); the delay is half of it plus
 * a random part of the other half, so instances started together spread out.
 */
export function backoffDelay(attempt: number, initialDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 30));
  return base / 2 + random() * (base / 2);
}

export interface RetryTransientOptions {
  /** Give up this long after the first attempt started. An attempt already running is not cut short. */
  deadlineMs: number;
  /** Each retry is logged as a warning (a pino Logger fits). */
  logger: { warn(obj: object, msg: string): void };
  /** Stops waiting at once (e.g. shutdown during start-up). */
  signal?: AbortSignal;
  /** First backoff delay (default 200 ms); doubles per attempt. */
  initialDelayMs?: number;
  /** Backoff cap (default 5 s). */
  maxDelayMs?: number;
}

/**
 * Calls `fn` until it succeeds, retrying only transient errors (`isTransient`)
 * with capped exponential backoff and jitter. A permanent error is thrown as
 * it is; after `deadlineMs` a RetryDeadlineError "<what> still failing after
 * N s (k attempts): <last error>" with the last error as its cause; on abort
 * an AmhError "<what> aborted" with the signal's reason as its cause.
 */
export async function retryTransient<T>(what: string, fn: () => Promise<T>, opts: RetryTransientOptions): Promise<T> {
  const { deadlineMs, logger, signal, initialDelayMs = 200, maxDelayMs = 5_000 } = opts;
  const began = Date.now();
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw new AmhError(`${what} aborted`, { cause: signal.reason });
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err)) throw err;
      const elapsed = Date.now() - began;
      const left = deadlineMs - elapsed;
      if (left <= 0) {
        const seconds = Number((elapsed / 1000).toFixed(1));
        throw new RetryDeadlineError(`${what} still failing after ${seconds} s (${attempt + 1} attempts): ${errorMessage(err)}`, {
          cause: err,
        });
      }
      const delayMs = Math.min(left, Math.round(backoffDelay(attempt, initialDelayMs, maxDelayMs)));
      logger.warn({ err, attempt: attempt + 1, delayMs, elapsedMs: elapsed }, `${what} failed, retrying`);
      await sleep(delayMs, signal);
    }
  }
}
