import type { Component, ComponentState, SliverEvent } from '../../codec/types.js';
import { SubstrateError } from '../../errors/index.js';
import type { HandlerOutcome } from '../types.js';
import { attachComponent, configureComponents, detachComponent, finishWipes, type ConfigItem } from './component-steps.js';
import { diffComponents, isEmptyDiff, type ComponentDiff } from './components.js';
import { vmState } from './create.js';
import { asComponent, probeReport } from './report.js';
import { STEP, VmSteps, asStepError, withNote, type VmContext } from './steps.js';
import { requireNode } from './validate.js';
import { probeVars, targetOf } from './vars.js';

/**
 * MODIFY: diff the current components (previous_node_sliver, else what the
 * substrate has) against the requested ones; detach the removed (NVMEs are
 * wiped), attach and configure the added, re-apply the configuration of
 * the changed (e.g. a port that now carries a network service's VLAN:
 * stitching); with no component diff at all, re-apply every NIC and
 * storage configuration. Devices an interrupted detach left "wipe pending"
 * are wiped first. A failure detaches what this modify attached.
 */
export async function modify(event: SliverEvent, ctx: VmContext): Promise<HandlerOutcome> {
  const sliver = requireNode(event);
  const first = new VmSteps(ctx, event, sliver, targetOf(event, sliver));
  const known = [...(event.previous_node_sliver?.components ?? []), ...sliver.components];
  const seen = probeReport((await first.run(STEP.probe, 'operation.probe', probeVars(known))).data.probe);
  if (!seen.exists) {
    throw new SubstrateError(`VM ${first.target.instanceName} does not exist; nothing to modify`, STEP.probe);
  }
  const steps = first.at({ worker: seen.worker, managementIp: seen.managementIp });
  const base = event.previous_node_sliver?.components ?? seen.components.map(asComponent);
  const diff = diffComponents(base, sliver.components);
  const states = new Map<string, ComponentState>(seen.components.map((c) => [c.state.name, c.state]));
  const attached: Component[] = [];
  const done: string[] = [];
  try {
    // A wipe an interrupted detach left pending first: that device holds data and is not free.
    done.push(...(await finishWipes(steps, seen.wipePending)));
    // Removed first: a replacement may reuse the BDFs it frees.
    for (const c of diff.removed) {
      done.push(...(await detachComponent(steps, c)));
      states.delete(c.name);
    }
    for (const c of diff.added) {
      states.set(c.name, await attachComponent(steps, c));
      attached.push(c);
      done.push(`attached ${c.name}`);
    }
    done.push(...(await configureComponents(steps, configItems(diff, sliver.components), states)));
  } catch (err) {
    const failure = asStepError(err, 'modify');
    throw withNote(failure, await undoAttached(steps.cleanup(), attached));
  }
  const name = seen.instanceName ?? steps.target.instanceName;
  const components = sliver.components.map((c) => states.get(c.name)).filter((s) => s !== undefined);
  return {
    message: `VM ${name} modified: ${done.length > 0 ? done.join('; ') : 'nothing to change'}`,
    sliver: vmState(seen, name, components),
  };
}

/** Added: as in a create; changed: re-applied with their stitching info; no diff: everything re-applied. */
function configItems(diff: ComponentDiff, requested: readonly Component[]): ConfigItem[] {
  if (isEmptyDiff(diff)) return requested.map((component) => ({ component, stitching: true }));
  return [
    ...diff.added.map((component) => ({ component, stitching: false })),
    ...diff.changed.map((component) => ({ component, stitching: true })),
  ];
}

async function undoAttached(steps: VmSteps, attached: readonly Component[]): Promise<string> {
  if (attached.length === 0) return 'nothing was attached, nothing to undo';
  const notes: string[] = [];
  for (const c of attached) {
    try {
      notes.push(...(await detachComponent(steps, c)));
    } catch (err) {
      notes.push(`FAILED to detach ${c.name}: ${asStepError(err, STEP.detach(c)).message}`);
    }
  }
  return `rolled back: ${notes.join('; ')}`;
}
