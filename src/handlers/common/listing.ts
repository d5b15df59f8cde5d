import { basename } from 'node:path';
import { z } from 'zod';
import type { Interface, NetworkServiceSliver, NodeSliver } from '../../codec/types.js';
import { PlaybookError } from '../../errors/index.js';
import type { ListContext, SubstrateObject } from '../types.js';

/**
 * Shared by the plugins' `list` (the orphan audit): run the listing playbook,
 * parse what it handed back with set_stats (`data.<key>`, a list), and build
 * the slivers a CLOSE of each object carries.
 */
export async function runListing<T extends z.ZodType>(
  ctx: ListContext<unknown>,
  playbook: string,
  vars: Record<string, unknown>,
  key: string,
  item: T,
): Promise<z.output<T>[]> {
  const result = await ctx.runPlaybook(playbook, vars);
  const parsed = z.array(item).safeParse(result.data[key]);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new PlaybookError(
    `${basename(playbook)} returned no usable data.${key} (${issue ? `${issue.path.join('.') || key}: ${issue.message}` : 'invalid'})`,
    basename(playbook),
  );
}

export const nullableText = z.string().nullish().transform((v) => v ?? null);

/** An ISO time (or null) as ms since the epoch; anything unparsable is null. */
export function timeOf(value: string | null): number | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/** The record as plain JSON (what a drift record's `found` carries). */
export function plainRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' ? (JSON.parse(JSON.stringify(value)) as Record<string, unknown>) : {};
}

/** A node sliver that names an existing instance: enough for a handler's delete to find it. */
export function nodeSliverFor(o: { name: string | null; instanceName: string; worker: string | null }): NodeSliver {
  return {
    name: o.name ?? '',
    site: null,
    worker: o.worker,
    instance_type: null,
    capacities: null,
    image: null,
    management: { ipv6: false, management_ip: null, instance_name: o.instanceName },
    components: [],
    interfaces: [],
    labels: {},
  };
}

/** A network sliver that names an existing service by its substrate name (label `local_name`). */
export function networkSliverFor(o: { name: string; type: string; interfaces: Partial<Interface>[] }): NetworkServiceSliver {
  return {
    name: o.name,
    type: o.type,
    interfaces: o.interfaces.map((i, n) => ({
      name: i.name ?? `if${n}`,
      site: i.site ?? null,
      device: i.device ?? null,
      port: i.port ?? null,
      vlan: i.vlan ?? null,
      bandwidth: i.bandwidth ?? null,
      mac: i.mac ?? null,
      ipv4: i.ipv4 ?? null,
      ipv6: i.ipv6 ?? null,
      auto_config: false,
      labels: {},
      peering: null,
    })),
    gateway: null,
    subnet: null,
    ero: [],
    permitted: [],
    mirror: null,
    labels: { local_name: o.name },
  };
}

export type { SubstrateObject };
