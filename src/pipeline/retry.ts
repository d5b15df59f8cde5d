import { AmhError, errorMessage } from '../errors/index.js';
import { isTransient } from '../kafka/transient.js';
import type { Logger } from '../observability/logger.js';
import { sleep } from '../lib/abort.js';

/** A step gave up because the service is stopping: the message stays uncommitted and is redelivered. */
export class AbandonedError extends AmhError {
  override readonly code = 'ABANDONED';
}

export interface UntilDoneOptions {
  logger: Logger;
  /** Aborted when the service must stop waiting (hard shutdown deadline). */
  signal: AbortSignal;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Told about every failed attempt (metrics). */
  onRetry?: (err: unknown, attempt: number) => void;
}

/**
 * Runs one step of a message until it succeeds: transient failures (broker
 * or registry unreachable, no leader, timeouts) are retried with capped
 * exponential backoff and jitter while the message's partition waits; any
 * other failure is thrown at once, for the pipeline to give it its fate.
 *
 * The first attempt runs without the retry loop: a message takes five or six
 * steps and nearly every one succeeds at once, so the loop's async frame is
 * only entered after a failure.
 */
export function untilDone<T>(what: string, step: () => Promise<T>, o: UntilDoneOptions): Promise<T> {
  if (o.signal.aborted) return Promise.reject(abandoned(what, o.signal));
  let first: Promise<T>;
  try {
    first = step();
  } catch (err) {
    first = Promise.reject(err);
  }
  return first.then(undefined, (err: unknown) => retryAfter(what, step, o, err));
}

/** The attempts after a failed first one (`failure`), as long as each fails transiently. */
async function retryAfter<T>(what: string, step: () => Promise<T>, o: UntilDoneOptions, failure: unknown): Promise<T> {
  let err = failure;
  for (let attempt = 1; ; attempt++) {
    if (!isTransient(err)) throw err;
    if (o.signal.aborted) throw abandoned(what, o.signal, err);
    const base = Math.min(o.maxDelayMs ?? 5_000, (o.initialDelayMs ?? 250) * 2 ** Math.min(attempt - 1, 12));
    const delayMs = Math.round(base / 2 + Math.random() * (base / 2));
    o.onRetry?.(err, attempt);
    o.logger.warn({ err, attempt, delayMs }, `${what} failed (transient); retrying while the partition waits`);
    await sleep(delayMs, o.signal);
    if (o.signal.aborted) throw abandoned(what, o.signal);
    try {
      return await step();
    } catch (next) {
      err = next;
    }
  }
}

/** Why a step gave up: the signal's reason, with the step's last failure as the cause when there was one. */
function abandoned(what: string, signal: AbortSignal, cause?: unknown): AbandonedError {
  return new AbandonedError(`gave up ${what}: ${errorMessage(signal.reason)}`, { cause });
}
