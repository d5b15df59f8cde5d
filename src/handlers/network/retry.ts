import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { AmhError, CancelledError, OperationTimeoutError, errorMessage } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';

/**
 * `handlers.<entry>.retry`: how often a playbook run whose failure is
 * retriable (an unreachable controller or switch, see PlaybookError.retriable)
 * is tried again, with exponential backoff. Refusals (a VLAN in use, a bad
 * request) are never retried: trying again would get the same answer.
 * Shared by the network and switch plugins.
 */
export const retryPolicySchema = z
  .object({
    /** Runs in all, the first included; 1 = no retry. */
    attempts: z.number().int().min(1).default(3),
    /** Wait before the second run; doubled for each further one. */
    backoff_initial: duration.default(2_000),
    /** Upper bound of one wait. */
    backoff_max: duration.default(30_000),
  })
  .strict()
  .prefault({});

export type RetryPolicy = z.output<typeof retryPolicySchema>;

/** The wait before run `attempt + 1` (attempt counts from 1). */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.backoff_max, policy.backoff_initial * 2 ** (attempt - 1));
}

/**
 * Runs `run` until it succeeds, fails with a non-retriable error, or the
 * policy is spent. A wait cut short by `signal` ends as the timeout or
 * cancellation it is, not as the last failure.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  signal: AbortSignal,
  logger: Logger,
  what: string,
  run: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const retriable = err instanceof AmhError && err.retriable;
      if (!retriable || attempt >= policy.attempts || signal.aborted) throw err;
      const waitMs = backoffMs(policy, attempt);
      logger.warn({ err, attempt, waitMs }, `${what} failed (attempt ${attempt} of ${policy.attempts}), retrying: ${errorMessage(err)}`);
      await sleep(waitMs, undefined, { signal }).catch(() => {
        throw abortError(signal, what);
      });
    }
  }
}

/** The typed error for an aborted signal: a timeout or a cancellation. */
export function abortError(signal: AbortSignal, what: string): OperationTimeoutError | CancelledError {
  const reason: unknown = signal.reason;
  const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
  return timedOut ? new OperationTimeoutError(`${what} timed out`, undefined) : new CancelledError(`${what} was cancelled`, undefined);
}

/**
 * After a failed create: undo the partial work (`undo` runs the cleanup
 * playbook under its own time limit), then rethrow the failure with a note
 * saying whether the undo worked, so the reply tells the Orchestrator if
 * anything may be left behind. The error keeps its class and step.
 */
export async function rollback(err: unknown, logger: Logger, undo: () => Promise<unknown>): Promise<never> {
  let note: string;
  try {
    await undo();
    note = 'everything created so far was removed';
  } catch (cleanupErr) {
    logger.error({ err: cleanupErr }, `cleanup after a failed create failed: ${errorMessage(cleanupErr)}`);
    note = `cleanup failed, leftovers may remain: ${errorMessage(cleanupErr)}`;
  }
  if (err instanceof Error) err.message = `${err.message} (${note})`;
  throw err;
}
