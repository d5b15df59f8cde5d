import type { ComponentState, NodeSliver, SliverEvent, SliverState } from '../../codec/types.js';
import type { HandlerOutcome } from '../types.js';
import { attachComponent, configureComponents } from './component-steps.js';
import { isPci } from './components.js';
import { summarize, teardown } from './delete.js';
import { keepFailed } from './keep.js';
import { vmReport, type VmReport } from './report.js';
import { STEP, VmSteps, asStepError, withNote, type VmContext } from './steps.js';
import { requireNode } from './validate.js';
import { bootVars, targetOf } from './vars.js';

/**
 * REDEEM, in the reference's order: boot with the user's keys, management
 * IP (v4, or v6 with disable_fip or management.ipv6), wait for SSH, record
 * the instance name; attach each component and learn its guest address and
 * interface name; reboot and wait again; configure NICs (auto_config) and
 * mount volumes (auto_mount).
 *
 * Every step is idempotent for the same sliver, so a create re-run after a
 * crash finishes the half-done one. Any failure removes everything of the
 * sliver (the same teardown as a delete, under the cleanup time limit) and
 * is reported with the step that failed. With `keep_failed`, the VM is left
 * in place instead, marked failed (see keep.ts).
 */
export async function create(event: SliverEvent, ctx: VmContext): Promise<HandlerOutcome> {
  const sliver = requireNode(event);
  const steps = new VmSteps(ctx, event, sliver, targetOf(event, sliver));
  try {
    return await provision(event, sliver, steps, ctx);
  } catch (err) {
    const failure = asStepError(err, 'create');
    if (ctx.config.keep_failed) {
      ctx.logger.warn({ err: failure }, 'create failed; keeping what it created for diagnosis (keep_failed)');
      return keepFailed(steps.cleanup(), failure, ctx.logger);
    }
    ctx.logger.warn({ err: failure }, 'create failed; removing what it created');
    const undone = await teardown(steps.cleanup(), sliver.components, 'cleanup.ALL');
    const note = undone.failures.length === 0 ? `rolled back: ${summarize(undone)}` : `ROLLBACK INCOMPLETE: ${summarize(undone)}`;
    throw withNote(failure, note);
  }
}

async function provision(event: SliverEvent, sliver: NodeSliver, first: VmSteps, ctx: VmContext): Promise<HandlerOutcome> {
  const booted = vmReport((await first.run(STEP.boot, 'VM', bootVars(event, sliver, ctx.config))).data.vm);
  const steps = first.at({ worker: booted.worker, managementIp: booted.managementIp });

  const states = new Map<string, ComponentState>();
  for (const c of sliver.components) states.set(c.name, await attachComponent(steps, c));
  let vm = booted;
  if (sliver.components.some(isPci)) {
    // Passthrough devices show up in the guest after a reboot; reachability is checked again.
    vm = { ...booted, ...definedOnly(vmReport((await steps.run(STEP.reboot, 'operation.reboot')).data.vm)) };
  }
  await configureComponents(steps, sliver.components.map((component) => ({ component, stitching: false })), states);

  const name = vm.instanceName ?? steps.target.instanceName;
  const parts = sliver.components.map((c) => c.name);
  return {
    message: `VM ${name} is active at ${vm.managementIp ?? '?'} on ${vm.worker ?? '?'}${parts.length ? ` with ${parts.join(', ')}` : ''}`,
    sliver: vmState(vm, name, sliver.components.map((c) => states.get(c.name)).filter((s) => s !== undefined)),
  };
}

/** The result's sliver after a create or modify. */
export function vmState(vm: VmReport, instanceName: string, components: ComponentState[]): Partial<SliverState> {
  const labels: Record<string, string> = { instance_name: instanceName };
  // The hypervisor's name (libvirt domain): what the reference records as the sliver's `instance` label.
  if (vm.domain) labels.instance = vm.domain;
  return {
    instance_name: instanceName,
    management_ip: vm.managementIp,
    worker: vm.worker,
    observed: 'EXISTS',
    components,
    labels,
  };
}

function definedOnly(report: VmReport): Partial<VmReport> {
  return Object.fromEntries(Object.entries(report).filter(([, v]) => v !== null)) as Partial<VmReport>;
}
