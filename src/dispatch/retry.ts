import type { RetryPolicy } from '../config/index.js';
import { AmhError } from '../errors/index.js';

/** Delay before attempt `attempt + 1` (attempt counts from 1): exponential, capped. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.backoff_max, policy.backoff_initial * 2 ** (attempt - 1));
}

/** True when the error is worth another attempt under the policy. */
export function shouldRetry(err: unknown, attempt: number, policy: RetryPolicy): boolean {
  return err instanceof AmhError && err.retriable && attempt < policy.attempts;
}

/** Sleep that ends early (resolving) when `signal` aborts; the caller checks the signal. */
export { sleep } from '../lib/abort.js';
