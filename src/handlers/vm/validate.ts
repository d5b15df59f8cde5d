import type { NodeSliver, SliverEvent } from '../../codec/types.js';
import { ValidationError } from '../../errors/index.js';
import type { VmSettings } from './settings.js';

/** The reference's VM create checks, done before any playbook runs. */
export function validateVmEvent(event: SliverEvent, settings: VmSettings): void {
  if (event.operation === 'CLOSE' || event.operation === 'PROBE') return;
  const sliver = requireNode(event);
  if (event.operation !== 'REDEEM') return;
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
  const asked = sliver.capacities;
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

export function requireNode(event: SliverEvent): NodeSliver {
  if (!event.node_sliver) throw new ValidationError(`${event.operation} of a ${event.resource_type} needs node_sliver`);
  return event.node_sliver;
}

/** `{sliver_id}-{name}`, the reference's instance name. */
export function instanceName(event: SliverEvent, sliver: NodeSliver | null): string {
  return sliver?.management.instance_name ?? `${event.sliver_id}-${sliver?.name ?? 'vm'}`;
}
