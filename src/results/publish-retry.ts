import type { Logger } from '../observability/logger.js';
import { AmhError } from '../errors/index.js';

export interface PublishRetryOptions {
  what: string;
  logger: Logger;
  signal?: AbortSignal | undefined;
  maxDelayMs?: number;
}

/**
 * A result or dead-letter record must reach the broker before its offset is
 * committed, so publishing retries with capped exponential backoff for as
 * long as it takes (kafkajs already retried inside each attempt); only an
 * abort (forced shutdown) stops it, and then the offset stays uncommitted.
 */
export async function publishWithRetry(send: () => Promise<unknown>, options: PublishRetryOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await send();
      return;
    } catch (err) {
      if (options.signal?.aborted) {
        throw new AmhError(`gave up publishing ${options.what}: shutting down`, { cause: err });
      }
      const delay = Math.min(options.maxDelayMs ?? 30_000, 250 * 2 ** Math.min(attempt, 10));
      options.logger.error({ err, attempt, delayMs: delay }, `publishing ${options.what} failed; retrying`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        options.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    }
  }
}
