import type { Capacities, Component, Interface, Labels, NodeSliver, SliverEvent } from '../../codec/types.js';
import { volumeName } from './components.js';
import type { VmSettings } from './settings.js';

/**
 * Extra vars of the VM playbooks: the contract between this handler and
 * both playbook folders (playbooks/sim, playbooks/production). Documented
 * per playbook in playbooks/sim/README.md.
 */
export type Vars = Record<string, unknown>;

/** Where a VM is, as far as the handler knows (the event, then what a probe or boot reported). */
export interface VmTarget {
  instanceName: string;
  worker: string | null;
  managementIp: string | null;
}

/** `{sliver_id}-{name}`, the reference's instance name, unless the AM already knows one. */
export function instanceName(event: SliverEvent, sliver: NodeSliver): string {
  return sliver.management.instance_name ?? `${event.sliver_id}-${sliver.name}`;
}

export function targetOf(event: SliverEvent, sliver: NodeSliver): VmTarget {
  return { instanceName: instanceName(event, sliver), worker: sliver.worker, managementIp: sliver.management.management_ip };
}

/** Variables every VM playbook receives. */
export function commonVars(event: SliverEvent, sliver: NodeSliver, settings: VmSettings, target: VmTarget): Vars {
  const { runtime, playbooks } = settings;
  return {
    sliver_id: event.sliver_id,
    slice_id: event.slice_id,
    project_id: event.slice.project_id,
    name: sliver.name,
    instance_name: target.instanceName,
    worker: target.worker,
    management_ip: target.managementIp,
    image_user: sliver.image ? (runtime.images[sliver.image] ?? 'root') : 'root',
    admin_ssh_key: playbooks.admin_ssh_key,
    state_dir: process.env.AMH_SIM_STATE_DIR ?? settings.substrate.state_dir,
    ssh_retries: runtime.ssh_retries,
    delete_retries: runtime.delete_retries,
    retry_delay: runtime.retry_delay / 1000,
    ...simVars(sliver.labels),
  };
}

/** Sim labels -> vars that the sim playbooks read (production playbooks ignore them). */
export const SIM_LABELS = {
  'sim.fail_at': 'fail_at',
  'sim.fail_mode': 'fail_mode',
  'sim.fail_count': 'fail_count',
  'sim.delay_seconds': 'sim_delay_seconds',
  'sim.boot_seconds': 'sim_boot_seconds',
} as const;
const NUMERIC_SIM_VARS = new Set<string>(['fail_count', 'sim_delay_seconds', 'sim_boot_seconds']);

/** Every sim var, null when its label is absent (the sliver's labels). */
export function simVars(labels: Labels): Vars {
  return Object.fromEntries(Object.entries(SIM_LABELS).map(([label, name]) => [name, simValue(name, labels[label])]));
}

/** Only the sim vars whose labels are set (a component's labels override the sliver's). */
export function simOverrides(labels: Labels): Vars {
  return Object.fromEntries(
    Object.entries(SIM_LABELS)
      .filter(([label]) => labels[label] !== undefined)
      .map(([label, name]) => [name, simValue(name, labels[label])]),
  );
}

function simValue(name: string, value: string | undefined): unknown {
  if (value === undefined) return null;
  return NUMERIC_SIM_VARS.has(name) ? Number(value) : value;
}

/** The requested flavor: capacities, else parsed from a `fabric.c<cores>.m<ram>.d<disk>` instance type. */
export function flavorOf(sliver: NodeSliver): Capacities | null {
  if (sliver.capacities) return sliver.capacities;
  const m = /\.c(\d+)\.m(\d+)\.d(\d+)$/.exec(sliver.instance_type ?? '');
  return m ? { core: Number(m[1]), ram: Number(m[2]), disk: Number(m[3]) } : null;
}

/** Vars of the VM playbook (boot). */
export function bootVars(event: SliverEvent, sliver: NodeSliver, settings: VmSettings): Vars {
  return {
    flavor: flavorOf(sliver),
    instance_type: sliver.instance_type,
    image: sliver.image,
    ssh_keys: event.slice.user_ssh_keys.map((k) => k.key),
    mgmt_ipv6: settings.runtime.disable_fip || sliver.management.ipv6,
  };
}

/** Vars of a component playbook; the component's own sim labels override the sliver's. */
export function componentVars(c: Component): Vars {
  return {
    component: {
      name: c.name,
      type: c.type,
      model: c.model,
      bdfs: c.bdfs,
      macs: c.macs,
      interfaces: c.interfaces.map(interfaceVars),
      auto_mount: c.auto_mount,
      labels: c.labels,
    },
    volume_name: c.type === 'Storage' ? volumeName(c) : null,
    mount_point: c.type === 'Storage' ? `/${volumeName(c)}` : null,
    ...simOverrides(c.labels),
  };
}

/**
 * Vars of the probe playbook: the components the sliver should have, so a
 * production probe (which sees only the hypervisor's host devices) can say
 * which of them are attached. The sim probe knows its records and ignores them.
 */
export function probeVars(components: readonly Component[]): Vars {
  const byName = new Map(components.map((c) => [c.name, c]));
  return { components: [...byName.values()].map((c) => componentVars(c).component) };
}

/** An interface as the playbooks see it (never the L3VPN peering: it may carry a BGP key). */
function interfaceVars(i: Interface): Vars {
  return {
    name: i.name,
    device: i.device,
    port: i.port,
    vlan: i.vlan,
    mac: i.mac,
    ipv4: i.ipv4,
    ipv6: i.ipv6,
    auto_config: i.auto_config,
    labels: i.labels,
  };
}
