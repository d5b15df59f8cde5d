import { z } from 'zod';
import type { SliverState } from '../../codec/types.js';

/** What the switch playbooks hand back with set_stats (`data.switch`), sim and production alike. */
const text = z.string().nullish().transform((v) => v ?? null);

export const createdSwitch = z.object({
  instance_name: z.string(),
  device: z.string(),
  management_ip: text,
  state: z.string(),
  ports: z.array(
    z.object({
      name: z.string(),
      port: text,
      vlan: z.number().int().nullish().transform((v) => v ?? null),
      mac: text,
      state: z.string().optional(),
    }),
  ),
});

export const deletedSwitch = z.object({
  instance_name: z.string(),
  existed: z.boolean(),
  note: z.string().optional(),
});

export const probedSwitch = z.object({
  observed: z.enum(['EXISTS', 'MISSING', 'DEGRADED']),
  details: z.string(),
  /** The switch as recorded; `{}` (nothing recorded) reads as null. */
  record: z.union([createdSwitch, z.object({}).strict().transform(() => null)]),
});

/** The result's sliver state: the switch, its management address and each port as configured. */
export function switchState(sw: z.output<typeof createdSwitch>, observed: SliverState['observed'], details: string | null = null): Partial<SliverState> {
  return {
    instance_name: sw.instance_name,
    management_ip: sw.management_ip,
    worker: sw.device,
    observed,
    details,
    interfaces: sw.ports.map((p) => ({
      name: p.name,
      device: sw.device,
      port: p.port,
      vlan: p.vlan,
      mac: p.mac,
      ipv4: null,
      ipv6: null,
      guest_interface: null,
      labels: Object.fromEntries(p.state ? [['state', p.state]] : []),
    })),
    labels: { instance_name: sw.instance_name, switch: sw.device },
  };
}
