import type { Component, ComponentState, InterfaceState, Labels } from '../../codec/types.js';

/**
 * Readers of what the VM playbooks return with `set_stats` (untyped JSON)
 * into the result's types. Missing or mistyped fields become null/empty,
 * never an exception: a playbook that reports less still provisioned.
 */
type Json = Record<string, unknown>;

const rec = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const strs = (v: unknown): string[] => list(v).filter((x): x is string => typeof x === 'string');
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null);

/** `data.vm` of the VM, reboot and post-boot playbooks. */
export interface VmReport {
  instanceName: string | null;
  worker: string | null;
  managementIp: string | null;
  state: string | null;
  /** The hypervisor's own name for the instance (libvirt domain, OpenStack instance_name). */
  domain: string | null;
}

export function vmReport(data: unknown): VmReport {
  const vm = rec(data);
  return {
    instanceName: str(vm.instance_name),
    worker: str(vm.worker),
    managementIp: str(vm.management_ip),
    state: str(vm.state),
    domain: str(vm.domain),
  };
}

/** `data.component` of the attach and config playbooks, as the result reports it. */
export function componentState(data: unknown, requested?: Pick<Component, 'name' | 'type' | 'bdfs'>): ComponentState {
  const c = rec(data);
  const labels: Labels = {};
  for (const key of ['model', 'volume', 'guest_device', 'mount_point'] as const) {
    const value = str(c[key]);
    if (value) labels[key] = value;
  }
  const devices = list(c.functions).map((f) => str(rec(f).guest_device)).filter((d): d is string => d !== null);
  if (devices.length > 0) labels.guest_devices = devices.join(',');
  return {
    name: str(c.name) ?? requested?.name ?? '',
    type: str(c.type) ?? requested?.type ?? '',
    bdfs: c.bdfs === undefined ? [...(requested?.bdfs ?? [])] : strs(c.bdfs),
    guest_bdfs: strs(c.guest_bdfs),
    interfaces: list(c.interfaces).map(interfaceState),
    labels,
  };
}

function interfaceState(data: unknown): InterfaceState {
  const i = rec(data);
  const labels: Labels = {};
  const configured = str(i.configured_interface);
  if (configured) labels.configured_interface = configured;
  const bdf = str(i.bdf);
  if (bdf) labels.bdf = bdf;
  return {
    name: str(i.name) ?? '',
    device: str(i.device),
    port: str(i.port),
    vlan: int(i.vlan),
    mac: str(i.mac),
    ipv4: str(i.ipv4),
    ipv6: str(i.ipv6),
    guest_interface: str(i.guest_interface),
    labels,
  };
}

/** One component as a probe saw it. */
export interface ObservedComponent {
  state: ComponentState;
  /** BDFs the hypervisor really has attached to this VM (a subset of state.bdfs when degraded). */
  attachedBdfs: string[];
  /** Storage: whether the volume is attached; null for other types. */
  volumeAttached: boolean | null;
  mountPoint: string | null;
}

/** A device detached from this VM that still holds its data: held by the substrate until wiped. */
export interface PendingWipe {
  worker: string | null;
  bdf: string;
  /** The component it belonged to, and its type (which wipe playbook). */
  component: string;
  type: string;
}

/** `data.probe` of the probe playbook. */
export interface ProbeReport extends VmReport {
  exists: boolean;
  /** Marked failed: kept after a failed create for diagnosis (`keep_failed`). */
  keptFailed: boolean;
  components: ObservedComponent[];
  /** BDFs held for this VM that no component accounts for (leftovers). */
  strayBdfs: string[];
  /** Devices detached from this VM whose wipe has not run yet (a step interrupted by a crash). */
  wipePending: PendingWipe[];
}

export function probeReport(data: unknown): ProbeReport {
  const p = rec(data);
  return {
    ...vmReport(p),
    exists: p.exists === true,
    keptFailed: p.failed === true,
    components: list(p.components).map((c) => {
      const raw = rec(c);
      return {
        state: componentState(raw),
        attachedBdfs: strs(raw.attached_bdfs),
        volumeAttached: typeof raw.volume_attached === 'boolean' ? raw.volume_attached : null,
        mountPoint: str(raw.mount_point),
      };
    }),
    strayBdfs: strs(p.stray_bdfs),
    wipePending: list(p.wipe_pending).flatMap((w) => {
      const raw = rec(w);
      const bdf = str(raw.bdf);
      return bdf ? [{ worker: str(raw.worker), bdf, component: str(raw.component) ?? bdf, type: str(raw.type) ?? '' }] : [];
    }),
  };
}

/** An observed component as a request would have described it (the base of a modify without previous_node_sliver). */
export function asComponent(seen: ObservedComponent): Component {
  const s = seen.state;
  return {
    name: s.name,
    type: s.type,
    model: s.labels.model ?? null,
    bdfs: s.bdfs,
    macs: s.interfaces.map((i) => i.mac ?? ''),
    interfaces: s.interfaces.map((i) => ({
      name: i.name,
      site: null,
      device: i.device,
      port: i.port,
      vlan: i.vlan,
      bandwidth: null,
      mac: i.mac,
      ipv4: i.ipv4,
      ipv6: i.ipv6,
      auto_config: i.labels.configured_interface !== undefined,
      labels: {},
      peering: null,
    })),
    auto_mount: seen.mountPoint !== null,
    labels: s.labels.volume ? { local_name: s.labels.volume } : {},
  };
}

/** `data.poa` of the POA and ssh-keys playbooks. */
export function poaReport(data: unknown): { info: unknown; message: string | null } {
  const p = rec(data);
  return { info: p.info ?? null, message: str(p.message) };
}
