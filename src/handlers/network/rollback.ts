import { errorMessage } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';

/**
 * After a failed create: undo the partial work (`undo` runs the cleanup
 * playbook under its own time limit), then rethrow the failure with a note
 * saying whether the undo worked, so the reply tells the Orchestrator if
 * anything may be left behind. The error keeps its class, step and
 * `retriable` flag, so the executor's retry policy (`handlers.<h>.retry`)
 * can run the whole create again from a clean substrate.
 * Shared by the network and switch plugins.
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
