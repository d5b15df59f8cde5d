import type { Component, Labels, NodeSliver, PoaRequest, SliverEvent } from '../../codec/types.js';
import { ValidationError } from '../../errors/index.js';
import { isComponentType, isPci } from './components.js';
import { COMPONENT_TYPES, type VmSettings } from './settings.js';
import { flavorOf, SIM_LABELS } from './vars.js';

/** POA operations of the reference; anything else is REJECTED (the reference ran it as a delete). */
export const POA_OPERATIONS = ['cpuinfo', 'numainfo', 'cpupin', 'numatune', 'reboot', 'addkey', 'removekey', 'rescan'] as const;
export type PoaOperation = (typeof POA_OPERATIONS)[number];

export function isPoaOperation(op: string): op is PoaOperation {
  return (POA_OPERATIONS as readonly string[]).includes(op);
}

/** The reference's checks, done before any playbook runs: a broken rule is REJECTED. */
export function validateVmEvent(event: SliverEvent, settings: VmSettings): void {
  const sliver = requireNode(event);
  checkSimLabels(sliver.labels, 'node_sliver.labels');
  if (event.operation === 'REDEEM') validateCreate(sliver, settings);
  if (event.operation === 'REDEEM' || event.operation === 'MODIFY') validateComponents(sliver.components);
  if (event.operation === 'POA') validatePoa(event.poa);
}

/** Every VM operation addresses the VM by `{sliver_id}-{name}` (or its known instance name). */
export function requireNode(event: SliverEvent): NodeSliver {
  if (!event.node_sliver) {
    throw new ValidationError(`${event.operation} of a ${event.resource_type} needs node_sliver (its name identifies the VM)`);
  }
  if (event.node_sliver.name.trim() === '' && !event.node_sliver.management.instance_name) {
    throw new ValidationError(`${event.operation} of a ${event.resource_type} needs node_sliver.name`);
  }
  return event.node_sliver;
}

function validateCreate(sliver: NodeSliver, settings: VmSettings): void {
  const missing = [
    ['worker', sliver.worker],
    ['instance_type or capacities', sliver.instance_type ?? sliver.capacities],
    ['image', sliver.image],
  ].filter(([, value]) => value === null || value === undefined || value === '');
  if (sliver.name.trim() === '') missing.unshift(['name', null]);
  if (missing.length > 0) {
    throw new ValidationError(`VM redeem is missing ${missing.map(([name]) => `node_sliver.${name}`).join(', ')}`);
  }
  const cap = settings.runtime.max_flavor;
  const asked = flavorOf(sliver);
  if (cap && asked) {
    const over = (['core', 'ram', 'disk'] as const).filter((k) => asked[k] > cap[k]);
    if (over.length > 0) {
      throw new ValidationError(
        `requested capacities exceed runtime.max_flavor: ${over.map((k) => `${k} ${asked[k]} > ${cap[k]}`).join(', ')}`,
      );
    }
  }
  const images = Object.keys(settings.runtime.images);
  if (images.length > 0 && sliver.image && !images.includes(sliver.image)) {
    throw new ValidationError(`image '${sliver.image}' is not offered here; available: ${images.join(', ')}`);
  }
}

/** Component rules: known types, BDFs for passthrough, one component per name and per BDF. */
export function validateComponents(components: readonly Component[]): void {
  const names = new Set<string>();
  const owners = new Map<string, string>();
  for (const c of components) {
    const where = `component '${c.name}'`;
    if (!isComponentType(c.type)) {
      throw new ValidationError(`${where}: unknown type '${c.type}'; known types: ${COMPONENT_TYPES.join(', ')}`);
    }
    if (names.has(c.name)) throw new ValidationError(`${where} appears twice in node_sliver.components`);
    names.add(c.name);
    if (isPci(c) && c.bdfs.length === 0) throw new ValidationError(`${where} (${c.type}) has no bdfs to pass through`);
    if (c.macs.length > c.bdfs.length) throw new ValidationError(`${where}: more macs (${c.macs.length}) than bdfs (${c.bdfs.length})`);
    for (const bdf of c.bdfs) {
      const other = owners.get(bdf.toLowerCase());
      if (other) throw new ValidationError(`${where}: BDF ${bdf} is also requested by component '${other}'`);
      owners.set(bdf.toLowerCase(), c.name);
    }
    for (const i of c.interfaces) {
      if (i.vlan !== null && (i.vlan < 1 || i.vlan > 4094)) {
        throw new ValidationError(`${where}, interface '${i.name}': VLAN ${i.vlan} is outside 1..4094`);
      }
    }
    checkSimLabels(c.labels, `${where} labels`);
  }
}

function validatePoa(poa: PoaRequest | null): void {
  if (!poa) throw new ValidationError('POA event without poa (operation and arguments)');
  const op = poa.operation;
  if (!isPoaOperation(op)) {
    throw new ValidationError(`unknown POA operation '${op}'; known operations: ${POA_OPERATIONS.join(', ')}`);
  }
  const needs: Partial<Record<PoaOperation, [keyof PoaRequest['args'], number]>> = {
    cpupin: ['vcpu_cpu_map', poa.args.vcpu_cpu_map.length],
    numatune: ['node_set', poa.args.node_set.length],
    addkey: ['keys', poa.args.keys.length],
    removekey: ['keys', poa.args.keys.length],
    rescan: ['bdfs', poa.args.bdfs.length],
  };
  const need = needs[op];
  if (need && need[1] === 0) throw new ValidationError(`POA ${op} needs poa.args.${need[0]}`);
}

/** Sim labels that must be numbers, so a typo in a test fails loudly instead of being ignored. */
function checkSimLabels(labels: Labels, where: string): void {
  for (const label of ['sim.fail_count', 'sim.delay_seconds', 'sim.boot_seconds'] satisfies (keyof typeof SIM_LABELS)[]) {
    const value = labels[label];
    if (value !== undefined && !(Number(value) >= 0)) {
      throw new ValidationError(`${where}: '${label}' must be a non-negative number, got '${value}'`);
    }
  }
}
