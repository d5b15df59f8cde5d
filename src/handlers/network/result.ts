import { z } from 'zod';
import type { InterfaceState, ObservedState, SliverState } from '../../codec/types.js';
import { PlaybookError } from '../../errors/index.js';

/**
 * What the network playbooks hand back with set_stats (`data.service`), sim
 * and production alike. Parsed, not trusted: a playbook that returns
 * something else is a FAILED run naming the playbook, not a half-filled reply.
 */
const text = z.string().nullish().transform((v) => v ?? null);

const endpoint = z.object({
  name: z.string(),
  site: text,
  device: text,
  port: text,
  vlan: z.number().int().nullish().transform((v) => v ?? null),
  mac: text,
  ipv4: text,
  ipv6: text,
  vlan_assigned: z.boolean().optional(),
});

export const createdService = z.object({
  name: z.string(),
  type: z.string(),
  state: z.string(),
  interfaces: z.array(endpoint),
});

export const deletedService = z.object({
  name: z.string(),
  existed: z.boolean(),
  attempts: z.coerce.number().optional(),
  note: z.string().optional(),
});

/** `cleanup.mark_failed` (keep_failed): whether anything existed to keep, and the service as marked. */
export const keptService = z.object({
  name: z.string(),
  existed: z.boolean(),
  /** The service record as marked; `{}` (nothing recorded) reads as null. */
  record: z.union([createdService, z.object({}).strict().transform(() => null)]),
});

export const probedService = z.object({
  observed: z.enum(['EXISTS', 'MISSING', 'DEGRADED']),
  details: z.string(),
  /** The service as recorded; `{}` (nothing recorded) reads as null. */
  record: z.union([createdService, z.object({}).strict().transform(() => null)]),
});

/** Parses `data[key]` of a playbook run or throws a PlaybookError naming the playbook. */
export function playbookData<T extends z.ZodType>(schema: T, data: Record<string, unknown>, key: string, playbook: string): z.output<T> {
  const parsed = schema.safeParse(data[key]);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new PlaybookError(
    `${playbook} returned no usable data.${key} (${issue ? `${issue.path.join('.') || key}: ${issue.message}` : 'invalid'})`,
    playbook,
  );
}

/**
 * The result's sliver state for a service: per interface what was assigned
 * (device, port, VLAN, MAC). This is the stitching information the
 * Orchestrator hands to the VM's NIC in a later redeem or modify.
 */
export function serviceState(
  service: z.output<typeof createdService>,
  observed: ObservedState,
  details: string | null = null,
): Partial<SliverState> {
  const interfaces: InterfaceState[] = service.interfaces.map((i) => ({
    name: i.name,
    device: i.device,
    port: i.port,
    vlan: i.vlan,
    mac: i.mac,
    ipv4: i.ipv4,
    ipv6: i.ipv6,
    guest_interface: null,
    labels: {
      ...(i.site ? { site: i.site } : {}),
      ...(i.vlan_assigned === undefined ? {} : { vlan_source: i.vlan_assigned ? 'assigned' : 'requested' }),
    },
  }));
  return {
    instance_name: service.name,
    observed,
    details,
    interfaces,
    labels: { service_name: service.name, service_type: service.type, service_state: service.state },
  };
}
