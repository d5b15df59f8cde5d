import type { Component, ComponentState } from '../../codec/types.js';
import { isNic, isStorage, needsMount, needsNicConfig } from './components.js';
import { componentState } from './report.js';
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

/** Detach (detaching what is gone is fine); a detached NVME is then wiped. Returns what was done. */
export async function detachComponent(steps: VmSteps, c: Component): Promise<string[]> {
  await steps.run(STEP.detach(c), c.type as ComponentType, { component_op: 'detach', ...componentVars(c) });
  const done = [`detached ${c.name}`];
  if (c.type === 'NVME') {
    await steps.run(STEP.wipe(c), 'cleanup.NVME', componentVars(c));
    done.push(`wiped ${c.name} (${c.bdfs.join(', ')})`);
  }
  return done;
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
