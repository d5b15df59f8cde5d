import { basename, join } from 'node:path';
import type { z } from 'zod';
import type { NetworkServiceSliver, SliverEvent } from '../../codec/types.js';
import type { HandlerContext, HandlerOutcome } from '../types.js';
import { createdService, deletedService, playbookData, probedService, serviceState } from './result.js';
import { keepFailed } from './keep.js';
import { rollback } from './rollback.js';
import { requireService, serviceName, type ServiceType } from './service.js';
import type { NetworkSettings } from './settings.js';
import { deleteVars, serviceVars } from './vars.js';

export type NetworkContext = HandlerContext<NetworkSettings>;
type CreatedService = z.output<typeof createdService>;

const at = (settings: NetworkSettings, file: string): string => join(settings.playbooks.location, file);

/**
 * Creates the service with its type's playbook. On any failure (including a
 * timeout or cancellation) the cleanup playbook removes what was created so
 * far before the failure is reported, unless `keep` (a create with
 * `keep_failed`): then it is left in place, marked failed.
 */
export async function provision(
  event: SliverEvent,
  sliver: NetworkServiceSliver,
  ctx: NetworkContext,
  keep = false,
): Promise<CreatedService> {
  const settings = ctx.config;
  const playbook = at(settings, settings.playbooks[sliver.type as ServiceType]);
  try {
    const result = await ctx.runPlaybook(playbook, serviceVars(event, sliver, settings));
    return playbookData(createdService, result.data, 'service', basename(playbook));
  } catch (err) {
    if (keep) {
      ctx.logger.warn({ err }, 'create failed; keeping what it created for diagnosis (keep_failed)');
      const mark = at(settings, settings.cleanup.mark_failed);
      return keepFailed(err, ctx.logger, mark, (vars) => ctx.runCleanup(mark, { ...deleteVars(event, sliver, settings), ...vars }));
    }
    return rollback(err, ctx.logger, () => ctx.runCleanup(at(settings, settings.cleanup.ALL), deleteVars(event, sliver, settings)));
  }
}

/** Deletes the service; the playbook retries its delete step `runtime.delete_retries` times and fails if none worked. */
export async function unprovision(event: SliverEvent, sliver: NetworkServiceSliver, ctx: NetworkContext) {
  const playbook = at(ctx.config, ctx.config.playbooks.operation.delete);
  const result = await ctx.runPlaybook(playbook, deleteVars(event, sliver, ctx.config));
  return playbookData(deletedService, result.data, 'service', basename(playbook));
}

/** "a: sim-sw-1 HundredGigE0/0/0/5 VLAN 100, b: ..." for messages and logs. */
export function describeEndpoints(service: CreatedService): string {
  const tag = (vlan: number | null) => (vlan === 0 ? 'untagged' : `VLAN ${vlan}`);
  return service.interfaces.map((i) => `${i.name}: ${i.device} ${i.port} ${tag(i.vlan)}`).join(', ');
}

export async function create(event: SliverEvent, ctx: NetworkContext): Promise<HandlerOutcome> {
  // Only a create keeps its failure: a modify's failed create puts the previous service back.
  const service = await provision(event, requireService(event), ctx, ctx.config.keep_failed);
  return {
    message: `${service.type} ${service.name} is ${service.state}: ${describeEndpoints(service)}`,
    sliver: serviceState(service, 'EXISTS'),
  };
}

export async function remove(event: SliverEvent, ctx: NetworkContext): Promise<HandlerOutcome> {
  const sliver = requireService(event);
  const gone = await unprovision(event, sliver, ctx);
  const note = gone.note ? ` (${gone.note})` : '';
  return {
    message: gone.existed ? `${sliver.type} ${gone.name} deleted` : `${sliver.type} ${gone.name} was already gone${note}`,
    sliver: { instance_name: gone.name, observed: 'MISSING', labels: { service_name: gone.name, service_type: sliver.type } },
  };
}

/** Reports what the substrate has for the service, changing nothing. */
export async function probe(event: SliverEvent, ctx: NetworkContext): Promise<HandlerOutcome> {
  const sliver = requireService(event);
  const playbook = at(ctx.config, ctx.config.playbooks.operation.probe);
  const result = await ctx.runPlaybook(playbook, serviceVars(event, sliver, ctx.config));
  const { observed, details, record } = playbookData(probedService, result.data, 'service', basename(playbook));
  const name = serviceName(event.sliver_id, sliver);
  return {
    message: `${sliver.type} ${name}: ${observed}: ${details}`,
    sliver: record ? serviceState(record, observed, details) : { instance_name: name, observed, details },
  };
}
