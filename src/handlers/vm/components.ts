import type { Component, Interface } from '../../codec/types.js';
import { COMPONENT_TYPES, type ComponentType } from './settings.js';

/** Passed through to the VM by PCI address (host BDFs). */
export const PCI_TYPES: readonly ComponentType[] = ['GPU', 'SmartNIC', 'SharedNIC', 'FPGA', 'NVME'];
/** Devices that hold tenant data: detached, they stay held ("wipe pending") until their wipe playbook ran. */
export const WIPED_TYPES = ['NVME'] as const;
export type WipedType = (typeof WIPED_TYPES)[number];
/** NICs whose ports are configured inside the guest (addresses, VLAN sub-interfaces). */
export const NIC_TYPES: readonly ComponentType[] = ['SmartNIC', 'SharedNIC'];

export function isComponentType(type: string): type is ComponentType {
  return (COMPONENT_TYPES as readonly string[]).includes(type);
}

export const isPci = (c: Pick<Component, 'type'>): boolean => (PCI_TYPES as readonly string[]).includes(c.type);
export const isNic = (c: Pick<Component, 'type'>): boolean => (NIC_TYPES as readonly string[]).includes(c.type);
export const needsWipe = (c: Pick<Component, 'type'>): c is Pick<Component, 'type'> & { type: WipedType } =>
  (WIPED_TYPES as readonly string[]).includes(c.type);
export const isStorage = (c: Pick<Component, 'type'>): boolean => c.type === 'Storage';

/** A Storage component's volume: its `local_name` label, else the component's name (mounted at `/<volume>`). */
export function volumeName(c: Pick<Component, 'name' | 'labels'>): string {
  return c.labels.local_name?.trim() || c.name;
}

/** A NIC some of whose ports the guest configures itself (reference: the interface's auto_config flag). */
export function needsNicConfig(c: Component): boolean {
  return isNic(c) && c.interfaces.some((i) => i.auto_config);
}

export function needsMount(c: Component): boolean {
  return isStorage(c) && c.auto_mount;
}

/** What a modify changes, component by component (by name). */
export interface ComponentDiff {
  /** Requested, not there yet (or there with other hardware: then also in `removed`). */
  added: Component[];
  /** There, not requested any more. */
  removed: Component[];
  /** Same hardware, other configuration (interfaces: VLAN, addresses, auto_config; auto_mount; volume). */
  changed: Component[];
  unchanged: Component[];
}

/**
 * Diffs the current components against the requested ones. A component is
 * the same hardware when name, type, BDFs (and for Storage the volume) match;
 * other hardware under the same name is a replacement (removed + added).
 */
export function diffComponents(current: readonly Component[], requested: readonly Component[]): ComponentDiff {
  const before = new Map(current.map((c) => [c.name, c]));
  const diff: ComponentDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const want of requested) {
    const have = before.get(want.name);
    before.delete(want.name);
    if (!have) diff.added.push(want);
    else if (hardwareKey(have) !== hardwareKey(want)) {
      diff.removed.push(have);
      diff.added.push(want);
    } else if (configKey(have) !== configKey(want)) diff.changed.push(want);
    else diff.unchanged.push(want);
  }
  diff.removed.push(...before.values());
  return diff;
}

export function isEmptyDiff(diff: ComponentDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}

function hardwareKey(c: Component): string {
  const bdfs = [...c.bdfs].map((b) => b.toLowerCase()).sort();
  return JSON.stringify([c.type, bdfs, isStorage(c) ? volumeName(c) : null]);
}

function configKey(c: Component): string {
  const ports = [...c.interfaces].sort((a, b) => a.name.localeCompare(b.name)).map(portConfig);
  return JSON.stringify([ports, isStorage(c) ? c.auto_mount : null]);
}

/** What the guest's view of a port depends on; addresses compared without a prefix (the sim adds the default one). */
function portConfig(i: Interface): unknown[] {
  const address = (a: string | null) => (a ? a.split('/')[0]?.toLowerCase() : null);
  return [i.name, i.vlan, i.device, i.port, i.mac?.toLowerCase() ?? null, address(i.ipv4), address(i.ipv6), i.auto_config];
}
