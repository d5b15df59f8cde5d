import { z } from 'zod';
import { nodeSliverFor, nullableText, plainRecord, runListing, timeOf } from '../common/listing.js';
import type { ListContext, SubstrateObject } from '../types.js';
import { playbookPath, type VmSettings } from './settings.js';

const listedVm = z.looseObject({
  instance_name: z.string().min(1),
  sliver_id: nullableText,
  name: nullableText,
  worker: nullableText,
  created_at: nullableText,
});

/** Every VM on the substrate (`operation.list`), each addressed by its instance name for a delete. */
export async function list(ctx: ListContext<VmSettings>): Promise<SubstrateObject[]> {
  const settings = ctx.config;
  const vars = { state_dir: process.env.AMH_SIM_STATE_DIR ?? settings.substrate.state_dir };
  const vms = await runListing(ctx, playbookPath(settings, 'operation.list'), vars, 'vms', listedVm);
  return vms.map((vm) => ({
    name: vm.instance_name,
    sliverId: vm.sliver_id,
    resourceType: 'VM',
    createdAt: timeOf(vm.created_at),
    record: plainRecord(vm),
    close: { node_sliver: nodeSliverFor({ name: vm.name, instanceName: vm.instance_name, worker: vm.worker }), network_sliver: null },
  }));
}
