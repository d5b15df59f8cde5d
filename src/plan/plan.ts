import { existsSync } from 'node:fs';
import type { PlaybookRunner } from '../ansible/types.js';
import type { SliverEvent } from '../codec/types.js';
import { handlerFunction } from '../dispatch/executor.js';
import { ValidationError, errorMessage } from '../errors/index.js';
import type { HandlerRegistry, RegisteredHandler } from '../handlers/registry.js';
import type { Logger } from '../observability/logger.js';
import { Scrubber, secretsOf } from '../observability/redact.js';
import { PlanRecorder } from './recorder.js';
import type { Claim, ClaimCheck, EventPlan } from './types.js';

export interface PlanDeps {
  registry: HandlerRegistry;
  /** Runs the read-only availability check playbook (a real runner). */
  runner: PlaybookRunner;
  logger: Logger;
}

/**
 * A dry run of one event: the same checks as the executor (REJECTED with
 * the reason), then the handler's own function with a planning runner (see
 * recorder.ts), then a read-only check of what its steps would claim.
 */
export async function planEvent(event: SliverEvent, deps: PlanDeps): Promise<EventPlan> {
  const plan: EventPlan = {
    event: { event_id: event.event_id, sliver_id: event.sliver_id, resource_type: event.resource_type, operation: event.operation, sequence: event.sequence },
    handler: null,
    outcome: 'PLANNED',
    reason: null,
    steps: [],
    assumptions: [],
    claims: [],
    availability: 'nothing to claim',
    onFailure: null,
    message: null,
  };
  let handler: RegisteredHandler;
  let fn;
  try {
    handler = deps.registry.resolve(event.resource_type);
    plan.handler = handler.name;
    fn = handlerFunction(event, handler, null);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return { ...plan, outcome: 'REJECTED', reason: err.message, availability: 'not checked' };
  }
  const recorder = new PlanRecorder(handler, event.operation, event.resource_type, new Scrubber(secretsOf(event)));
  try {
    const outcome = await fn(event, {
      signal: new AbortController().signal,
      logger: deps.logger,
      config: handler.settings,
      runPlaybook: recorder.runner(false),
      runCleanup: recorder.runner(true),
    });
    plan.message = outcome.message ?? null;
  } catch (err) {
    plan.outcome = err instanceof ValidationError ? 'REJECTED' : 'WOULD_FAIL';
    plan.reason = errorMessage(err);
  }
  plan.steps = recorder.steps;
  plan.assumptions = recorder.assumptions;
  if (event.operation === 'REDEEM') plan.onFailure = handler.plugin.plan?.onFailure?.(handler.settings) ?? null;
  if (plan.outcome === 'REJECTED') return { ...plan, availability: 'not checked' };
  if (recorder.claims.length > 0) {
    const { checks, availability } = await checkClaims(handler, recorder.claims, deps);
    plan.claims = checks;
    plan.availability = availability;
    const taken = checks.filter((c) => c.available === false);
    if (taken.length > 0 && plan.outcome === 'PLANNED') {
      plan.outcome = 'WOULD_FAIL';
      plan.reason = `not available: ${taken.map((c) => c.detail).join('; ')}`;
    }
  }
  return plan;
}

/** The plugin's read-only check playbook, if it has one and it exists; every claim unchecked otherwise. */
async function checkClaims(handler: RegisteredHandler, claims: Claim[], deps: PlanDeps): Promise<{ checks: ClaimCheck[]; availability: string }> {
  const unchecked = (why: string) => ({ checks: claims.map((claim) => ({ claim, available: null, detail: 'not checked' })), availability: `not checked: ${why}` });
  const check = handler.plugin.plan?.check?.(handler.settings);
  if (!check) return unchecked(`plugin ${handler.plugin.name} has no availability check`);
  if (!existsSync(check.playbook)) return unchecked(`${check.playbook} does not exist (only the sim substrate can be asked without claiming)`);
  const inventory = handler.plugin.inventory?.(handler.settings) ?? null;
  const run = await deps.runner({
    playbook: check.playbook,
    extraVars: { ...check.vars, claims },
    logger: deps.logger,
    ...(inventory ? { inventory } : {}),
  });
  const answers = run.data.checks;
  if (run.outcome !== 'ok' || !Array.isArray(answers)) {
    const why = run.failedTask?.msg ?? (run.stderrTail.trim().split('\n').pop() || run.outcome);
    return unchecked(`${check.playbook} failed: ${why}`);
  }
  const checks = claims.map((claim, i): ClaimCheck => {
    const a = (answers[i] ?? {}) as { available?: unknown; detail?: unknown };
    return { claim, available: typeof a.available === 'boolean' ? a.available : null, detail: typeof a.detail === 'string' ? a.detail : 'no answer' };
  });
  return { checks, availability: `checked read-only with ${check.playbook}` };
}
