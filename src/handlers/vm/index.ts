import { join } from 'node:path';
import type { SliverEvent } from '../../codec/types.js';
import type { HandlerContext, HandlerOutcome, HandlerPlugin } from '../types.js';
import { vmSettingsSchema, type VmSettings } from './settings.js';
import { instanceName, requireNode, validateVmEvent } from './validate.js';

type Ctx = HandlerContext<VmSettings>;

/** Variables every VM playbook receives (sim and production alike). */
function commonVars(event: SliverEvent, settings: VmSettings): Record<string, unknown> {
  const sliver = event.node_sliver;
  return {
    sliver_id: event.sliver_id,
    slice_id: event.slice_id,
    name: sliver?.name ?? null,
    instance_name: instanceName(event, sliver),
    state_dir: process.env.AMH_SIM_STATE_DIR ?? settings.substrate.state_dir,
    // Failure injection for the sim substrate (tests): label `sim.fail_at: <step>`.
    fail_at: sliver?.labels['sim.fail_at'] ?? null,
  };
}

async function create(event: SliverEvent, ctx: Ctx): Promise<HandlerOutcome> {
  const sliver = requireNode(event);
  const { playbooks, runtime } = ctx.config;
  const run = await ctx.runPlaybook(join(playbooks.location, playbooks.VM), {
    ...commonVars(event, ctx.config),
    worker: sliver.worker,
    flavor: sliver.capacities ?? { core: 0, ram: 0, disk: 0 },
    instance_type: sliver.instance_type,
    image: sliver.image,
    image_user: sliver.image ? (runtime.images[sliver.image] ?? null) : null,
    ssh_keys: event.slice.user_ssh_keys.map((k) => k.key),
    mgmt_ipv6: runtime.disable_fip || sliver.management.ipv6,
    ssh_retries: runtime.ssh_retries,
  });
  const vm = (run.data.vm ?? {}) as Record<string, unknown>;
  const text = (key: string): string | null => (typeof vm[key] === 'string' ? (vm[key] as string) : null);
  return {
    message: `VM ${text('instance_name') ?? ''} is active at ${text('management_ip') ?? '?'}`,
    sliver: {
      instance_name: text('instance_name'),
      management_ip: text('management_ip'),
      worker: text('worker'),
      observed: 'EXISTS',
      labels: { instance_name: text('instance_name') ?? '' },
    },
  };
}

async function remove(event: SliverEvent, ctx: Ctx): Promise<HandlerOutcome> {
  const { playbooks, runtime } = ctx.config;
  const run = await ctx.runPlaybook(join(playbooks.location, playbooks.operation.delete), {
    ...commonVars(event, ctx.config),
    delete_retries: runtime.delete_retries,
  });
  const existed = (run.data.vm as { existed?: unknown } | undefined)?.existed;
  return {
    message: existed === false ? 'VM was already gone' : 'VM deleted',
    sliver: { instance_name: instanceName(event, event.node_sliver), observed: 'MISSING' },
  };
}

export const vmPlugin: HandlerPlugin<VmSettings> = {
  name: 'vm',
  description: 'Virtual machines (boot, management IP, delete) through Ansible playbooks',
  resourceTypes: ['VM'],
  settingsSchema: vmSettingsSchema,
  playbooks: (s) => ({
    REDEEM: join(s.playbooks.location, s.playbooks.VM),
    CLOSE: join(s.playbooks.location, s.playbooks.operation.delete),
  }),
  validate: validateVmEvent,
  create,
  delete: remove,
};
