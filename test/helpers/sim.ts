// The sim substrate in tests: its default hardware (playbooks/sim/README.md,
// "Hardware"), VM events with components that use it, and readers of its
// state directory. Readers take no lock: read when the service is idle
// (after a reply). The two "trouble" writers replace files atomically.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vmEvent } from './events.js';

export const WORKER = 'sim-worker-1';

/** BDFs of each default worker (both have the same). */
export const DEVICES = {
  gpu: ['0000:25:00.0', '0000:81:00.0'],
  nvme: ['0000:21:00.0', '0000:22:00.0', '0000:23:00.0', '0000:24:00.0'],
  /** Two ports (functions) per card. */
  smartNic: [
    ['0000:41:00.0', '0000:41:00.1'],
    ['0000:a1:00.0', '0000:a1:00.1'],
  ],
  sharedNicVfs: Array.from({ length: 8 }, (_, n) => `0000:e2:01.${n}`),
  /** Multi-function: both functions go to one VM together. */
  fpgaMultiFunction: ['0000:c1:00.0', '0000:c1:00.1'],
  fpgaWhole: ['0000:c2:00.0'],
} as const;

type Json = Record<string, unknown>;

export interface PortSpec {
  vlan?: number;
  ipv4?: string;
  ipv6?: string;
  auto_config?: boolean;
  device?: string;
  port?: string;
  mac?: string;
}

export const gpu = (name = 'GPU1', bdf: string = DEVICES.gpu[0]): Json => ({ name, type: 'GPU', model: 'Tesla T4', bdfs: [bdf] });
export const nvme = (name = 'NVME1', bdf: string = DEVICES.nvme[0]): Json => ({ name, type: 'NVME', model: 'P4510', bdfs: [bdf] });
export const fpga = (name = 'FPGA1', bdfs: readonly string[] = DEVICES.fpgaMultiFunction): Json => ({ name, type: 'FPGA', bdfs: [...bdfs] });

/** A SmartNIC (both ports of card `card`); `port1` configures its first port (stitching: vlan/device/port). */
export function smartNic(name = 'NIC1', port1: PortSpec = {}, card: 0 | 1 = 0): Json {
  return {
    name,
    type: 'SmartNIC',
    model: 'ConnectX-6',
    bdfs: [...DEVICES.smartNic[card]],
    interfaces: [{ name: `${name}-p1`, ...port1 }, { name: `${name}-p2` }],
  };
}

export function sharedNic(name = 'SNIC1', port: PortSpec = {}, vf = 0): Json {
  return { name, type: 'SharedNIC', bdfs: [DEVICES.sharedNicVfs[vf]], interfaces: [{ name: `${name}-p1`, ...port }] };
}

/** A Storage component; `volume` becomes its local_name label (the volume name, mounted at /<volume>). */
export function storage(name = 'data1', opts: { volume?: string; auto_mount?: boolean } = {}): Json {
  return { name, type: 'Storage', auto_mount: opts.auto_mount ?? true, labels: opts.volume ? { local_name: opts.volume } : {} };
}

/** A VM event (REDEEM unless `operation` is given) with these components and sliver labels. */
export function vmWith(sliverId: string, components: Json[], opts: { labels?: Record<string, string>; operation?: string; sequence?: number; extra?: Json } = {}): Json {
  return vmEvent({
    sliver_id: sliverId,
    operation: (opts.operation ?? 'REDEEM') as never,
    sequence: opts.sequence ?? 1,
    event_id: randomUUID(),
    node_sliver: {
      name: 'node1',
      site: 'SIM1',
      worker: WORKER,
      instance_type: 'fabric.c2.m8.d10',
      capacities: { core: 2, ram: 8, disk: 10 },
      image: 'default_rocky_9',
      components,
      labels: opts.labels ?? {},
    },
    ...(opts.extra ?? {}),
  });
}

/** A POA event for the VM of `sliverId`. */
export function poaEvent(sliverId: string, operation: string, args: Json = {}, sequence = 2): Json {
  return vmWith(sliverId, [], {
    operation: 'POA',
    sequence,
    extra: { poa: { poa_id: `poa-${operation}-${randomUUID().slice(0, 4)}`, operation, args } },
  });
}

export interface Holder {
  instance_name: string;
  sliver_id: string;
  component: string;
  /** Detached from its VM, held until wiped (devices with a wipe step: NVME). */
  wipe_pending?: boolean;
}

export interface Wipe {
  worker: string;
  bdf: string;
  instance_name: string;
  sliver_id: string;
  reason: string;
}

/** Read access (and two kinds of simulated trouble) to one sim state directory. */
export class SimState {
  constructor(readonly dir: string) {}

  private read<T>(rel: string, fallback: T): T {
    const file = join(this.dir, rel);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : fallback;
  }

  private write(rel: string, data: unknown): void {
    const file = join(this.dir, rel);
    writeFileSync(`${file}.tmp`, JSON.stringify(data, null, 2));
    renameSync(`${file}.tmp`, file);
  }

  /** The VM record (with `components` keyed by name), or undefined. */
  vm(instance: string): Json | undefined {
    return this.read<Json | undefined>(`vms/${instance}.json`, undefined);
  }

  /** One component of a VM as the guest sees it. */
  component(instance: string, name: string): Json | undefined {
    return (this.vm(instance)?.components as Record<string, Json> | undefined)?.[name];
  }

  /** Who holds a PCI device (hypervisor view), or undefined when it is free. */
  holder(bdf: string, worker = WORKER): Holder | undefined {
    return this.read<Record<string, Record<string, Holder>>>('pci.json', {})[worker]?.[bdf];
  }

  /** Every BDF held for this instance, on any worker. */
  heldBy(instance: string): string[] {
    const table = this.read<Record<string, Record<string, Holder>>>('pci.json', {});
    return Object.values(table).flatMap((held) => Object.entries(held).filter(([, h]) => h.instance_name === instance).map(([b]) => b));
  }

  wipes(): Wipe[] {
    return this.read<{ wipes: Wipe[] }>('wipes.json', { wipes: [] }).wipes;
  }

  /** The newest wipe of a device, or undefined when it was never wiped. */
  lastWipe(bdf: string, worker = WORKER): Wipe | undefined {
    return this.wipes().filter((w) => w.bdf === bdf && w.worker === worker).at(-1);
  }

  /**
   * The tenant-data guarantee for a device `tenant` (an instance name) had:
   * it is still held (attached or wipe pending), or it was wiped after that
   * tenant. False means the next VM could get the tenant's data.
   */
  freeOnlyIfWiped(bdf: string, tenant: string, worker = WORKER): boolean {
    return this.holder(bdf, worker) !== undefined || this.lastWipe(bdf, worker)?.instance_name === tenant;
  }

  volume(name: string): Json | undefined {
    return this.read<Json | undefined>(`volumes/${name}.json`, undefined);
  }

  /** Management addresses owned by this instance. */
  ips(instance: string): string[] {
    const ipam = this.read<Record<string, Record<string, string>>>('ipam.json', {});
    return Object.values(ipam).flatMap((pool) => Object.entries(pool).filter(([, o]) => o === `vm/${instance}`).map(([a]) => a));
  }

  /** Everything the substrate still has for an instance (empty lists = nothing left). */
  leftovers(instance: string): { vm: boolean; bdfs: string[]; ips: string[] } {
    return { vm: this.vm(instance) !== undefined, bdfs: this.heldBy(instance), ips: this.ips(instance) };
  }

  /** Trouble: the VM is in another state (e.g. SHUTOFF), as a crashed guest would be. */
  setVmState(instance: string, state: string): void {
    const vm = this.vm(instance);
    if (!vm) throw new Error(`no VM ${instance}`);
    this.write(`vms/${instance}.json`, { ...vm, state });
  }

  /** Trouble: the hypervisor lost a device's attachment (it fell off the VM). */
  dropHold(bdf: string, worker = WORKER): void {
    const table = this.read<Record<string, Record<string, Holder>>>('pci.json', {});
    delete table[worker]?.[bdf];
    this.write('pci.json', table);
  }
}
