import { join } from 'node:path';
import { z } from 'zod';
import { networkSliverFor, nullableText, plainRecord, runListing, timeOf } from '../common/listing.js';
import type { ListContext, SubstrateObject } from '../types.js';
import { isServiceType } from './service.js';
import type { NetworkSettings } from './settings.js';

const listedInterface = z.looseObject({
  name: z.string(),
  site: nullableText,
  device: nullableText,
  port: nullableText,
  vlan: z.number().int().nullish().transform((v) => v ?? null),
});

const listedService = z.looseObject({
  name: z.string().min(1),
  sliver_id: nullableText,
  type: z.string(),
  interfaces: z.array(listedInterface).default([]),
  created_at: nullableText,
});

/** Every network service on the substrate (`operation.list`), each addressed by its name (label `local_name`) for a delete. */
export async function list(ctx: ListContext<NetworkSettings>): Promise<SubstrateObject[]> {
  const settings = ctx.config;
  const vars = {
    state_dir: process.env.AMH_SIM_STATE_DIR ?? settings.substrate.state_dir,
    controller: {
      url: settings.controller.url,
      username: settings.controller.username,
      password_env: settings.controller.password_env,
      validate_certs: settings.controller.validate_certs,
    },
  };
  const services = await runListing(ctx, join(settings.playbooks.location, settings.playbooks.operation.list), vars, 'services', listedService);
  return services.map((s) => ({
    name: s.name,
    sliverId: s.sliver_id,
    resourceType: s.type,
    createdAt: timeOf(s.created_at),
    record: plainRecord(s),
    close: isServiceType(s.type) ? { node_sliver: null, network_sliver: networkSliverFor({ name: s.name, type: s.type, interfaces: s.interfaces }) } : null,
  }));
}
