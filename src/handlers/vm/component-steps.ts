import type { Component, ComponentState } from '../../codec/types.js';
import { isNic, isStorage, needsMount, needsNicConfig, needsWipe } from './components.js';
import { componentState, type PendingWipe } from './report.js';
import type { ComponentType } from './settings.js';
import { STEP, type VmSteps } from './steps.js';
import { componentVars } from './vars.js';

/**
 * Per-component steps shared by create, modify and delete: each is one
 * playbook run (one module call in the sim), named after the component.
 */

/** Attach (PCI passthrough per BDF with the NIC's MAC, or a volume) and learn the guest's view of it. */
export async function attachComponent(steps: VmSteps, c: Component): Promise<ComponentState> {
  const run = await steps.run(STEP.attach(c), c.type as ComponentType, { component_op: 'attach', ...componentVars(c) });
  return componentState(run.data.component, c);
}

/**
 * Detach (detaching what is gone is fine); a device with tenant data (NVME)
 * is then wiped. The substrate keeps such a device held, "wipe pending",
 * between the two steps, and the wipe frees it: a crash in between leaves
 * it unusable by anyone else, and the next probe lists it for `finishWipes`.
 */
export async function detachComponent(steps: VmSteps, c: Component): Promise<string[]> {
  await steps.run(STEP.detach(c), c.type as ComponentType, { component_op: 'detach', ...componentVars(c) });
  const done = [`detached ${c.name}`];
  if (needsWipe(c)) {
    await steps.run(STEP.wipe(c), `cleanup.${c.type}`, componentVars(c));
    done.push(`wiped ${c.name} (${c.bdfs.join(', ')})`);
  }
  return done;
}

/**
 * Wipes devices a probe found detached but not wiped (a crash between detach
 * and wipe), one wipe per component, on the worker that holds them; `skip`
 * are BDFs already wiped by this run. Stops at the first failure (thrown).
 */
export async function finishWipes(steps: VmSteps, pending: readonly PendingWipe[], skip: ReadonlySet<string> = new Set()): Promise<string[]> {
  const groups = new Map<string, { worker: string | null; component: Component }>();
  for (const p of pending) {
    if (skip.has(p.bdf) || !needsWipe(p)) continue;
    const key = `${p.worker ?? ''}/${p.component}`;
    const group = groups.get(key) ?? { worker: p.worker, component: pendingComponent(p) };
    if (groups.has(key)) group.component.bdfs.push(p.bdf);
    groups.set(key, group);
  }
  const done: string[] = [];
  for (const { worker, component: c } of groups.values()) {
    await steps.at({ worker }).run(STEP.wipe(c), `cleanup.${c.type as 'NVME'}`, componentVars(c));
    done.push(`wiped ${c.name} (${c.bdfs.join(', ')}), left pending by an interrupted detach`);
  }
  return done;
}

function pendingComponent(p: PendingWipe): Component {
  return { name: p.component, type: p.type, model: null, bdfs: [p.bdf], macs: [], interfaces: [], auto_mount: false, labels: {} };
}

/** One component to configure; `stitching` also applies ports without auto_config (their VLAN/device/port). */
export interface ConfigItem {
  component: Component;
  stitching: boolean;
}

/**
 * Configures NIC ports (addresses, VLAN sub-interfaces) and mounts volumes,
 * in request order, running the post-boot playbook once before the first
 * port the guest configures itself. Updates `states` with what was applied.
 */
export async function configureComponents(
  steps: VmSteps,
  items: readonly ConfigItem[],
  states: Map<string, ComponentState>,
): Promise<string[]> {
  const done: string[] = [];
  let postBootDone = false;
  for (const { component: c, stitching } of items) {
    if (needsNicConfig(c) || (stitching && isNic(c) && c.interfaces.length > 0)) {
      if (!postBootDone && c.interfaces.some((i) => i.auto_config)) {
        await steps.run(STEP.postBoot, 'config.post_boot');
        postBootDone = true;
      }
      const run = await steps.run(STEP.configureNic(c), `config.${c.type as 'SmartNIC' | 'SharedNIC'}`, componentVars(c));
      states.set(c.name, componentState(run.data.component, c));
      done.push(`configured ${c.name}`);
    } else if (isStorage(c) && needsMount(c)) {
      const run = await steps.run(STEP.mount(c), 'config.Storage', componentVars(c));
      states.set(c.name, componentState(run.data.component, c));
      done.push(`mounted ${c.name}`);
    }
  }
  return done;
}
