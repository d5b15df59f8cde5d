import type { SliverState } from '../../codec/types.js';
import { PlaybookError, errorMessage, type AmhError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import { componentState, vmReport } from './report.js';
import { STEP, asStepError, withNote, type VmSteps } from './steps.js';

/**
 * `keep_failed`: instead of rolling a failed create back, leave the VM in
 * place and have the substrate mark it failed, kept for diagnosis
 * (`cleanup.mark_failed`, under the cleanup limit). The failure is rethrown
 * with a note and the sliver as it stands, so the FAILED reply says what is
 * left and where. A later CLOSE removes it with the usual teardown (NVMEs
 * wiped); a create re-run (redelivery, retry) clears the mark.
 */
export async function keepFailed(steps: VmSteps, failure: AmhError, logger: Logger): Promise<never> {
  const name = steps.target.instanceName;
  const reason = { failed_step: failure instanceof PlaybookError ? (failure.step ?? null) : null, failure_message: failure.message };
  let note: string;
  let sliver: Partial<SliverState> | undefined;
  try {
    const run = await steps.run(STEP.markFailed, 'cleanup.mark_failed', reason);
    const marked = run.data.vm as { existed?: unknown; components?: unknown } | undefined;
    if (marked?.existed === false) {
      note = `kept for diagnosis (keep_failed), but nothing of VM ${name} exists to keep`;
      sliver = { instance_name: name, observed: 'MISSING', details: 'the failed create left nothing behind' };
    } else {
      const vm = vmReport(marked);
      const components = Array.isArray(marked?.components) ? marked.components.map((c) => componentState(c)) : [];
      note = `kept for diagnosis (keep_failed): VM ${name} left in place${vm.worker ? ` on ${vm.worker}` : ''}, marked failed; a CLOSE removes it`;
      sliver = {
        instance_name: vm.instanceName ?? name,
        management_ip: vm.managementIp,
        worker: vm.worker,
        observed: 'DEGRADED',
        details: `kept for diagnosis after a failed create: ${failure.message}`,
        components,
        labels: { instance_name: vm.instanceName ?? name, kept_for_diagnosis: 'true', ...(vm.domain ? { instance: vm.domain } : {}) },
      };
    }
  } catch (err) {
    const markErr = asStepError(err, STEP.markFailed);
    logger.error({ err: markErr }, `marking the failed VM failed: ${errorMessage(markErr)}`);
    note = `kept for diagnosis (keep_failed): VM ${name} left in place, but marking it failed did not work: ${markErr.message}`;
    sliver = { instance_name: name, observed: 'UNKNOWN', details: 'kept after a failed create; not marked', labels: { kept_for_diagnosis: 'true' } };
  }
  const kept = withNote(failure, note);
  kept.sliver = sliver;
  throw kept;
}
