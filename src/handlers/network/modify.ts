import { join } from 'node:path';
import type { NetworkServiceSliver, SliverEvent } from '../../codec/types.js';
import { ValidationError, errorMessage } from '../../errors/index.js';
import type { HandlerOutcome } from '../types.js';
import { serviceChanges } from './diff.js';
import { describeEndpoints, provision, unprovision, type NetworkContext } from './operations.js';
import { serviceState } from './result.js';
import { requireService, type ServiceType } from './service.js';
import { serviceVars } from './vars.js';

/**
 * The reference's modify: nothing to do unless interfaces, labels or
 * capacities (or, here, the service settings) changed; otherwise delete the
 * service and create it as requested, in separate runs. If the create fails,
 * the previous service is put back so the slice is not left without it.
 */
export async function modify(event: SliverEvent, ctx: NetworkContext): Promise<HandlerOutcome> {
  const sliver = requireService(event);
  const previous = event.previous_network_sliver;
  if (!previous) throw new ValidationError('MODIFY of a network service needs previous_network_sliver');
  const changes = serviceChanges(previous, sliver);
  if (changes.length === 0) {
    return { message: 'no change in interfaces, labels, capacities or settings: nothing to do' };
  }
  await unprovision(event, previous, ctx);
  try {
    const service = await provision(event, sliver, ctx);
    return {
      message: `${service.type} ${service.name} re-created with changed ${changes.join(', ')}: ${describeEndpoints(service)}`,
      sliver: serviceState(service, 'EXISTS'),
    };
  } catch (err) {
    return restorePrevious(err, event, previous, ctx);
  }
}

/** Re-creates the service as it was (under the cleanup time limit), then rethrows `err` saying whether that worked. */
async function restorePrevious(err: unknown, event: SliverEvent, previous: NetworkServiceSliver, ctx: NetworkContext): Promise<never> {
  const settings = ctx.config;
  let note: string;
  try {
    await ctx.runCleanup(join(settings.playbooks.location, settings.playbooks[previous.type as ServiceType]), serviceVars(event, previous, settings));
    note = 'the previous service was restored';
  } catch (restoreErr) {
    ctx.logger.error({ err: restoreErr }, `restoring the previous service failed: ${errorMessage(restoreErr)}`);
    note = `the previous service could not be restored: ${errorMessage(restoreErr)}`;
  }
  if (err instanceof Error) err.message = `${err.message}; ${note}`;
  throw err;
}
