import { join } from 'node:path';
import { z } from 'zod';
import { nodeSliverFor, nullableText, plainRecord, runListing, timeOf } from '../common/listing.js';
import type { ListContext, SubstrateObject } from '../types.js';
import type { SwitchSettings } from './settings.js';

const listedSwitch = z.looseObject({
  instance_name: nullableText,
  sliver_id: nullableText,
  name: nullableText,
  device: z.string().min(1),
  created_at: nullableText,
});

/**
 * Every switch a sliver holds (`operation.list`). A claim whose instance name the substrate does not keep
 * (production: only the owner's sliver id) is reported but cannot be deleted through the handler.
 */
export async function list(ctx: ListContext<SwitchSettings>): Promise<SubstrateObject[]> {
  const settings = ctx.config;
  const vars = { state_dir: process.env.AMH_SIM_STATE_DIR ?? settings.substrate.state_dir };
  const claims = await runListing(ctx, join(settings.playbooks.location, settings.playbooks.operation.list), vars, 'switches', listedSwitch);
  return claims.map((c) => ({
    name: c.instance_name ?? c.device,
    sliverId: c.sliver_id,
    resourceType: 'Switch',
    createdAt: timeOf(c.created_at),
    record: plainRecord(c),
    close: c.instance_name ? { node_sliver: nodeSliverFor({ name: c.name, instanceName: c.instance_name, worker: c.device }), network_sliver: null } : null,
  }));
}
