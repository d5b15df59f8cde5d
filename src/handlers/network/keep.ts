import { basename } from 'node:path';
import type { SliverState } from '../../codec/types.js';
import { AmhError, PlaybookError, errorMessage } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import { keptService, playbookData, serviceState } from './result.js';

/**
 * `keep_failed`: instead of rolling a failed create back, leave what it made
 * (the VLAN reservation, the service record) in place and have the substrate
 * mark it failed, kept for diagnosis (`mark` runs `cleanup.mark_failed`
 * under the cleanup limit). The failure is rethrown, keeping its class, step
 * and retriable flag, with a note and the service as it stands for the FAILED
 * reply. A later CLOSE removes it as usual; a create re-run clears the mark.
 */
export async function keepFailed(
  err: unknown,
  logger: Logger,
  playbook: string,
  mark: (vars: Record<string, unknown>) => Promise<{ data: Record<string, unknown> }>,
): Promise<never> {
  const failure = err instanceof AmhError ? err : new PlaybookError(errorMessage(err), undefined, { cause: err });
  let note: string;
  let sliver: Partial<SliverState>;
  try {
    const run = await mark({ failed_step: failure instanceof PlaybookError ? (failure.step ?? null) : null, failure_message: failure.message });
    const kept = playbookData(keptService, run.data, 'service', basename(playbook));
    if (!kept.existed) {
      note = `kept for diagnosis (keep_failed), but nothing of service ${kept.name} exists to keep`;
      sliver = { instance_name: kept.name, observed: 'MISSING', details: 'the failed create left nothing behind' };
    } else if (!kept.record) {
      // A substrate that cannot mark (NSO): left in place as the create left it, recorded by the reply.
      note = `kept for diagnosis (keep_failed): service ${kept.name} left in place; a CLOSE removes it`;
      sliver = { instance_name: kept.name, observed: 'DEGRADED', details: `kept for diagnosis after a failed create: ${failure.message}`, labels: { service_name: kept.name, kept_for_diagnosis: 'true' } };
    } else {
      note = `kept for diagnosis (keep_failed): service ${kept.name} left in place (${kept.record.state}), marked failed; a CLOSE removes it`;
      const state = serviceState(kept.record, 'DEGRADED', `kept for diagnosis after a failed create: ${failure.message}`);
      sliver = { ...state, labels: { ...state.labels, kept_for_diagnosis: 'true' } };
    }
  } catch (markErr) {
    logger.error({ err: markErr }, `marking the failed service failed: ${errorMessage(markErr)}`);
    note = `kept for diagnosis (keep_failed), but marking it failed did not work: ${errorMessage(markErr)}`;
    sliver = { observed: 'UNKNOWN', details: 'kept after a failed create; not marked', labels: { kept_for_diagnosis: 'true' } };
  }
  failure.message = `${failure.message} (${note})`;
  failure.sliver = sliver;
  throw failure;
}
