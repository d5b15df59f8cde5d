import type { NetworkServiceSliver, SliverEvent } from '../../codec/types.js';
import { ValidationError } from '../../errors/index.js';

/** The network service types of the reference, each a resource type routed to this plugin. */
export const SERVICE_TYPES = [
  'L2Bridge',
  'L2PTP',
  'L2STS',
  'FABNetv4',
  'FABNetv6',
  'FABNetv4Ext',
  'FABNetv6Ext',
  'L3VPN',
  'PortMirror',
] as const;

export type ServiceType = (typeof SERVICE_TYPES)[number];

export function isServiceType(type: string): type is ServiceType {
  return (SERVICE_TYPES as readonly string[]).includes(type);
}

/** Names become NSO service keys and sim file names: a conservative alphabet. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The reference's service name: the sliver's `local_name` label, else
 * `{name[:16]}-{sliver_id}`. Throws ValidationError when it is not usable
 * as a device-side name.
 */
export function serviceName(sliverId: string, sliver: NetworkServiceSliver): string {
  const local = sliver.labels.local_name;
  const name = local && local.trim() !== '' ? local : `${sliver.name.slice(0, 16)}-${sliverId}`;
  if (!SAFE_NAME.test(name)) {
    throw new ValidationError(
      `service name '${name}' (from ${local ? 'label local_name' : 'network_sliver.name and sliver_id'}) must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return name;
}

/** The event's network_sliver; every operation of this plugin needs it (the service name derives from it). */
export function requireService(event: SliverEvent): NetworkServiceSliver {
  if (!event.network_sliver) {
    throw new ValidationError(`${event.operation} of a ${event.resource_type} needs network_sliver`);
  }
  return event.network_sliver;
}
