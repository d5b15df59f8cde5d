import type { NodeSliver, SliverEvent } from '../../codec/types.js';
import { ValidationError } from '../../errors/index.js';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Every operation needs the node sliver with its switch: delete and probe log in to it too. */
export function requireSwitch(event: SliverEvent): NodeSliver & { worker: string } {
  const sliver = event.node_sliver;
  if (!sliver) throw new ValidationError(`${event.operation} of a ${event.resource_type} needs node_sliver`);
  if (!sliver.worker) throw new ValidationError(`${event.operation} of a Switch needs node_sliver.worker (the P4 switch)`);
  return sliver as NodeSliver & { worker: string };
}

/** `{sliver_id}-{name}` like a VM, unless the AM already knows the instance name. */
export function switchInstanceName(event: SliverEvent, sliver: NodeSliver): string {
  const name = sliver.management.instance_name ?? `${event.sliver_id}-${sliver.name}`;
  if (!SAFE_NAME.test(name)) {
    throw new ValidationError(`instance name '${name}' must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return name;
}

/** Checks before any playbook runs; a broken rule is REJECTED. */
export function validateSwitchEvent(event: SliverEvent): void {
  const sliver = requireSwitch(event);
  switchInstanceName(event, sliver);
  if (event.operation !== 'REDEEM') return;
  if (sliver.name.trim() === '') throw new ValidationError('Switch redeem is missing node_sliver.name');
  const ports = sliver.interfaces;
  if (new Set(ports.map((p) => p.name)).size !== ports.length) throw new ValidationError('Switch: interface names must be unique');
  for (const p of ports) {
    if (!p.port) throw new ValidationError(`Switch: interface ${p.name} needs a port`);
    if (p.vlan !== null && (p.vlan < 0 || p.vlan > 4094)) throw new ValidationError(`Switch: interface ${p.name}: VLAN ${p.vlan} is outside 0-4094`);
  }
  if (new Set(ports.map((p) => p.port)).size !== ports.length) throw new ValidationError('Switch: a port is listed twice');
}
