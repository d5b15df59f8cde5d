import type { InFlight, SliverEvent, SliverResult } from '../codec/types.js';
import type { ExecuteOptions, Executor } from '../dispatch/executor.js';
import { scrubberOf, type Logger } from '../observability/logger.js';
import type { Scrubber } from '../observability/redact.js';

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
  return redactResult(result, scrubberOf(opts.logger));
}

/**
 * A failure message can quote what a playbook printed, and that can be one of
 * the event's secrets (a key in a module's error): the reply, like the logs,
 * carries none of them.
 */
function redactResult(result: SliverResult, scrubber: Scrubber): SliverResult {
  result.message = scrubber.text(result.message);
  if (result.failed_step) result.failed_step = scrubber.text(result.failed_step);
  if (result.poa) {
    result.poa.message = scrubber.text(result.poa.message);
    if (result.poa.info_json) result.poa.info_json = scrubber.text(result.poa.info_json);
  }
  return result;
}

async function reconcile(executor: Executor, event: SliverEvent, interrupted: InFlight, opts: ExecuteOptions): Promise<string> {
  // The probe's deadline is its own: a probe that times out must not abort the operation that follows it.
  const { controller: _own, ...probeOpts } = opts;
  const probe = await executor.execute({ ...event, operation: 'PROBE' }, probeOpts);
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
