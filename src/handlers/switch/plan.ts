import type { PlanAnswer, PlanSupport, PlannedCall } from '../../plan/types.js';
import { placeholder, planCheck } from '../common/plan.js';
import type { SwitchSettings } from './settings.js';

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

/** What a switch playbook would report (`data.switch`, playbooks/sim/network.md), read from its vars. */
function answer(call: PlannedCall): PlanAnswer {
  const sw = rec(call.vars.switch);
  const has = (key: string) => call.keys.includes(key);
  const record = () => ({
    instance_name: sw.instance_name,
    device: sw.device,
    management_ip: placeholder('management IP assigned at claim'),
    state: 'ACTIVE',
    ports: Array.isArray(sw.ports) ? sw.ports.map((p) => ({ ...rec(p), state: 'UP' })) : [],
  });
  if (has('Switch')) {
    return {
      label: `claim ${String(sw.device)}`,
      data: { switch: record() },
      claims: [{ kind: 'p4', device: String(sw.device), owner: String(sw.instance_name), sliver_id: String(sw.sliver_id) }],
    };
  }
  if (has('operation.probe')) {
    return {
      label: 'probe',
      data: { switch: { observed: 'EXISTS', details: `P4 switch ${String(sw.device)} (planned: assumed ACTIVE)`, record: record() } },
      assumption: 'assuming the switch is held as the event describes it',
    };
  }
  if (has('operation.delete') || has('cleanup.ALL')) {
    return { label: `release ${String(sw.device)}`, data: { switch: { instance_name: sw.instance_name, existed: true } }, assumption: 'assuming the switch is held by this sliver' };
  }
  return { data: {}, assumption: `no planned answer for ${call.playbook}: later steps see no data from it` };
}

export const switchPlan: PlanSupport<SwitchSettings> = {
  answer,
  check: (s) => planCheck(s.playbooks.location, s.substrate.state_dir),
  onFailure: () => 'rolled back: cleanup.ALL releases the switch',
};
