import type { PlanAnswer, PlanSupport, PlannedCall } from '../../plan/types.js';
import { planCheck } from '../common/plan.js';
import { SERVICE_TYPES } from './service.js';
import type { NetworkSettings } from './settings.js';

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.map(rec) : []);

/** What a network playbook would report (`data.service`, playbooks/sim/network.md), read from its vars. */
function answer(call: PlannedCall): PlanAnswer {
  const service = rec(call.vars.service);
  const name = String(service.name);
  const has = (key: string) => call.keys.includes(key);
  const interfaces = list(service.interfaces);
  const created = () => ({
    name,
    type: service.type,
    state: 'ACTIVE',
    interfaces: interfaces.map((i) => ({ ...i, vlan: i.vlan ?? null, vlan_assigned: i.vlan === null || i.vlan === undefined })),
  });
  if (!call.cleanup && SERVICE_TYPES.some(has)) {
    const unassigned = interfaces.filter((i) => i.vlan === null || i.vlan === undefined).map((i) => String(i.name));
    return {
      label: `create ${String(service.type)} ${name}`,
      data: { service: created() },
      ...(unassigned.length > 0 ? { assumption: `the substrate assigns the VLAN of ${unassigned.join(', ')} at create (the availability check names the one it would pick)` } : {}),
      claims: interfaces.map((i) => ({
        kind: 'vlan' as const,
        device: typeof i.device === 'string' ? i.device : null,
        port: typeof i.port === 'string' ? i.port : null,
        vlan: typeof i.vlan === 'number' ? i.vlan : null,
        interface: String(i.name),
        owner: `net/${name}`,
        sliver_id: String(service.sliver_id),
      })),
    };
  }
  if (SERVICE_TYPES.some(has)) return { label: `restore ${name}`, data: { service: created() } };
  if (has('cleanup.mark_failed')) return { label: 'mark_failed', data: { service: { name, existed: true, record: { ...created(), state: 'RESERVED' } } } };
  if (has('operation.probe')) {
    return {
      label: 'probe',
      data: { service: { observed: 'EXISTS', details: `${String(service.type)} ${name} (planned: assumed ACTIVE as requested)`, record: created() } },
      assumption: 'assuming the service exists as the event describes it',
    };
  }
  if (has('operation.delete') || has('cleanup.ALL')) {
    return { label: `delete ${name}`, data: { service: { name, existed: true } }, assumption: 'assuming the service exists (a delete of what is gone is OK too)' };
  }
  return { data: {}, assumption: `no planned answer for ${call.playbook}: later steps see no data from it` };
}

export const networkPlan: PlanSupport<NetworkSettings> = {
  answer,
  check: (s) => planCheck(s.playbooks.location, s.substrate.state_dir),
  onFailure: (s) =>
    s.keep_failed
      ? 'kept for diagnosis (keep_failed): the reservation and record stay as the failure left them, marked failed (cleanup.mark_failed); a CLOSE removes them'
      : 'rolled back: cleanup.ALL removes what was created so far',
};
