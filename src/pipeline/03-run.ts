import type { InFlight, SliverEvent, SliverResult } from '../codec/types.js';
import type { ExecuteOptions, Executor } from '../dispatch/executor.js';
import type { Logger } from '../observability/logger.js';

/**
 * Step 3: route and run. The executor resolves the handler by resource type
 * and runs its playbooks under the operation's signal; it always returns a
 * result (every handler failure becomes an outcome).
 *
 * An operation found in flight whose lease expired (its instance died) is
 * looked at first (the handler's probe, when it has one), so the log and
 * the result say what the crash left; the run that follows is ensure-style
 * and finishes or cleans it up.
 */
export async function runEvent(
  executor: Executor,
  event: SliverEvent,
  interrupted: InFlight | null,
  opts: ExecuteOptions,
): Promise<SliverResult> {
  const note = interrupted ? await reconcile(executor, event, interrupted, opts) : null;
  const result = await executor.execute(event, opts);
  if (note) result.message = `${note}; ${result.message}`;
  return result;
}

async function reconcile(executor: Executor, event: SliverEvent, interrupted: InFlight, opts: ExecuteOptions): Promise<string> {
  const probe = await executor.execute({ ...event, operation: 'PROBE' }, opts);
  const observed = probe.outcome === 'OK' ? (probe.sliver?.observed ?? 'UNKNOWN') : `not probed (${probe.outcome})`;
  log(opts.logger, interrupted, observed, event);
  return `reconciled an interrupted ${interrupted.operation} (found ${observed})`;
}

function log(logger: Logger, interrupted: InFlight, observed: string, event: SliverEvent): void {
  logger.warn(
    { interrupted, observed },
    `reconciling: ${interrupted.operation} ${interrupted.event_id} was interrupted (its lease expired); found ${observed}, running ${event.operation} to finish or clean up`,
  );
}
