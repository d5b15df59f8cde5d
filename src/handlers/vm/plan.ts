import type { PlanAnswer, PlanSupport, PlannedCall } from '../../plan/types.js';
import { known, placeholder, planCheck } from '../common/plan.js';
import { COMPONENT_TYPES, type VmSettings } from './settings.js';
import { STEP } from './steps.js';

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const BOOT_ASSUMPTION = 'boot succeeds; the worker (when the event names none) and the management address are chosen by the substrate at boot';
const PROBE_ASSUMPTION = 'assuming the probe finds the VM as the event describes it: ACTIVE, every component attached, no device waiting for a wipe';

/** What a VM playbook would report (the contract of playbooks/sim/README.md), read from its vars. */
function answer(call: PlannedCall): PlanAnswer {
  const v = call.vars;
  const has = (key: string) => call.keys.includes(key);
  const c = rec(v.component);
  const name = String(c.name ?? '');
  const vm = (extra: Json = {}): Json => ({
    instance_name: v.instance_name,
    worker: v.worker ?? placeholder('worker chosen at boot'),
    management_ip: v.management_ip ?? placeholder('management IP assigned at boot'),
    state: 'ACTIVE',
    ...extra,
  });
  if (has('VM')) {
    const owner = String(v.instance_name);
    const flavor = rec(v.flavor);
    return {
      label: STEP.boot,
      data: { vm: vm() },
      assumption: BOOT_ASSUMPTION,
      claims: [{ kind: 'capacity', worker: known(v.worker), flavor: flavor.core === undefined ? null : (flavor as never), owner, sliver_id: String(v.sliver_id) }],
    };
  }
  if (COMPONENT_TYPES.some(has)) {
    if (v.component_op === 'detach') {
      return { label: STEP.detach({ name }), data: { component: { name, bdfs: c.bdfs, detached_bdfs: c.bdfs, existed: true } } };
    }
    const claims = c.type === 'Storage'
      ? []
      : [{ kind: 'pci' as const, worker: known(v.worker), bdfs: list(c.bdfs).map(String), type: String(c.type), component: name, owner: String(v.instance_name), sliver_id: String(v.sliver_id) }];
    return { label: STEP.attach({ name }), data: { component: { ...c, volume: v.volume_name ?? undefined } }, claims };
  }
  if (has('operation.reboot')) return { label: STEP.reboot, data: { vm: vm() } };
  if (has('config.post_boot')) return { label: STEP.postBoot, data: { vm: vm({ post_boot: true }) } };
  if (has('config.SmartNIC') || has('config.SharedNIC')) return { label: STEP.configureNic({ name }), data: { component: c } };
  if (has('config.Storage')) return { label: STEP.mount({ name }), data: { component: { ...c, volume: v.volume_name, mount_point: v.mount_point } } };
  if (has('operation.probe')) {
    const components = list(v.components).map((raw) => {
      const comp = rec(raw);
      const volume = comp.type === 'Storage' ? (rec(comp.labels).local_name ?? comp.name) : undefined;
      return { ...comp, attached_bdfs: comp.bdfs ?? [], volume, volume_attached: comp.type === 'Storage' ? true : undefined, mount_point: comp.auto_mount && volume ? `/${String(volume)}` : null };
    });
    return { label: STEP.probe, data: { probe: { ...vm(), exists: true, components, stray_bdfs: [], wipe_pending: [] } }, assumption: PROBE_ASSUMPTION };
  }
  if (has('cleanup.mark_failed')) return { label: STEP.markFailed, data: { vm: { ...vm(), existed: true, failed: true } } };
  if (has('operation.delete') || has('cleanup.ALL')) return { label: STEP.delete, data: { vm: { instance_name: v.instance_name, existed: true, state: 'DELETED' } } };
  if (has('cleanup.NVME')) return { label: STEP.wipe({ name }), data: { nvme: { worker: v.worker, wiped: c.bdfs } } };
  if (has('config.ssh_keys')) return { label: STEP.poa(String(v.poa_operation ?? 'ssh_keys')), data: { poa: { info: { keys_changed: true }, message: 'planned' } } };
  if (call.keys.some((k) => k.startsWith('operation.'))) {
    return { label: STEP.poa(String(v.poa_operation)), data: { poa: { info: null, message: 'planned: the information is only known when it runs' } } };
  }
  return { data: {}, assumption: `no planned answer for ${call.playbook}: later steps see no data from it` };
}

export const vmPlan: PlanSupport<VmSettings> = {
  answer,
  check: (s) => planCheck(s.playbooks.location, s.substrate.state_dir),
  onFailure: (s) =>
    s.keep_failed
      ? 'kept for diagnosis (keep_failed): the VM stays as the failure left it, marked failed (cleanup.mark_failed); a CLOSE removes it'
      : 'rolled back: the CLOSE steps remove everything of the sliver (cleanup.ALL as the delete playbook), NVMEs wiped',
};
