import type { Component, SliverEvent } from '../../codec/types.js';
import { PlaybookError, type AmhError } from '../../errors/index.js';
import type { HandlerOutcome } from '../types.js';
import { detachComponent, finishWipes } from './component-steps.js';
import { needsWipe } from './components.js';
import { asComponent, probeReport, type ProbeReport } from './report.js';
import { STEP, VmSteps, asStepError, withNote, type VmContext } from './steps.js';
import { requireNode } from './validate.js';
import { probeVars, targetOf } from './vars.js';

/** What a teardown did, and what it could not do. */
export interface TeardownReport {
  /** Whether the VM existed when the teardown started (null when the probe failed). */
  existed: boolean | null;
  done: string[];
  failures: AmhError[];
}

/**
 * Removes everything of a VM, in the reference's order: detach each
 * component (NVMEs are wiped after), wipe what an interrupted detach left
 * pending, delete the VM, force-remove leftovers; every step retries
 * `delete_retries` times inside its playbook.
 *
 * What to detach comes from a probe (the substrate's truth) rather than the
 * event alone, so a half-done create or a component the event no longer
 * lists is still cleaned up. Steps go on after a failure (free as much as
 * possible) and every failure is reported: nothing here pretends success.
 */
export async function teardown(
  steps: VmSteps,
  requested: readonly Component[],
  deleteKey: 'operation.delete' | 'cleanup.ALL',
): Promise<TeardownReport> {
  const report: TeardownReport = { existed: null, done: [], failures: [] };
  let seen: ProbeReport | null = null;
  try {
    seen = probeReport((await steps.run(STEP.probe, 'operation.probe', probeVars(requested))).data.probe);
    report.existed = seen.exists;
  } catch (err) {
    report.failures.push(asStepError(err, STEP.probe));
  }
  const at = seen ? steps.at({ worker: seen.worker, managementIp: seen.managementIp }) : steps;
  const wiped = new Set<string>();
  for (const c of componentsToDetach(seen, requested)) {
    try {
      report.done.push(...(await detachComponent(at, c)));
      if (needsWipe(c)) c.bdfs.forEach((b) => wiped.add(b));
    } catch (err) {
      report.failures.push(asStepError(err, STEP.detach(c)));
    }
  }
  // Devices a crashed detach left held, wipe pending: never answered OK before they are wiped.
  for (const pending of seen?.wipePending ?? []) {
    try {
      report.done.push(...(await finishWipes(at, [pending], wiped)));
      wiped.add(pending.bdf);
    } catch (err) {
      report.failures.push(asStepError(err, STEP.wipe({ name: pending.component })));
    }
  }
  try {
    const run = await at.run(STEP.delete, deleteKey);
    const vm = run.data.vm as { existed?: unknown } | undefined;
    report.done.push(vm?.existed === false ? 'VM was already gone' : 'deleted VM');
    if (report.existed === null && typeof vm?.existed === 'boolean') report.existed = vm.existed;
  } catch (err) {
    report.failures.push(asStepError(err, STEP.delete));
  }
  return report;
}

/**
 * Observed components, with the request's labels (sim failure injection) by
 * name; without a probe, the requested ones (detaching what is gone is fine).
 */
function componentsToDetach(seen: ProbeReport | null, requested: readonly Component[]): Component[] {
  if (!seen) return [...requested];
  const byName = new Map(requested.map((c) => [c.name, c]));
  return seen.components.map((observed) => {
    const c = asComponent(observed);
    return { ...c, labels: { ...c.labels, ...byName.get(c.name)?.labels } };
  });
}

/** One line for messages: "detached GPU1; deleted VM" or the failures. */
export function summarize(report: TeardownReport): string {
  const failed = report.failures.map((f) => (f instanceof PlaybookError ? (f.step ?? f.message) : f.message));
  const done = report.done.length > 0 ? report.done.join('; ') : 'nothing to undo';
  return failed.length === 0 ? done : `${done}; FAILED: ${failed.join('; ')}`;
}

/** CLOSE: FAILED when any step failed after its retries (the reference reported success there). */
export async function remove(event: SliverEvent, ctx: VmContext): Promise<HandlerOutcome> {
  const sliver = requireNode(event);
  const target = targetOf(event, sliver);
  const report = await teardown(new VmSteps(ctx, event, sliver, target), sliver.components, 'operation.delete');
  const [first] = report.failures;
  if (first) throw withNote(first, `delete incomplete (${report.failures.length} step(s) failed): ${summarize(report)}`);
  const gone = report.existed === false;
  return {
    message: gone ? `VM ${target.instanceName} was already gone` : `VM ${target.instanceName} deleted: ${summarize(report)}`,
    sliver: { instance_name: target.instanceName, observed: 'MISSING', details: summarize(report) },
  };
}
