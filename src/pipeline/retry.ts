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
 */
export async function untilDone<T>(what: string, step: () => Promise<T>, o: UntilDoneOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (o.signal.aborted) throw new AbandonedError(`gave up ${what}: ${errorMessage(o.signal.reason)}`);
    try {
      return await step();
    } catch (err) {
      if (!isTransient(err)) throw err;
      if (o.signal.aborted) throw new AbandonedError(`gave up ${what}: ${errorMessage(o.signal.reason)}`, { cause: err });
      const base = Math.min(o.maxDelayMs ?? 5_000, (o.initialDelayMs ?? 250) * 2 ** Math.min(attempt - 1, 12));
      const delayMs = Math.round(base / 2 + Math.random() * (base / 2));
      o.onRetry?.(err, attempt);
      o.logger.warn({ err, attempt, delayMs }, `${what} failed (transient); retrying while the partition waits`);
      await sleep(delayMs, o.signal);
    }
  }
}
