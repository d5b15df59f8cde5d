import type { SliverEvent } from '../../codec/types.js';
import { ValidationError } from '../../errors/index.js';
import { checkServiceRules } from './rules.js';
import { isServiceType, requireService, serviceName, SERVICE_TYPES } from './service.js';
import type { NetworkSettings } from './settings.js';

/**
 * The plugin's `validate`: everything that can be decided from the event and
 * the settings, before any playbook runs. A broken rule is REJECTED.
 */
export function validateNetworkEvent(event: SliverEvent, settings: NetworkSettings): void {
  const sliver = requireService(event);
  if (!isServiceType(sliver.type)) {
    throw new ValidationError(`network_sliver.type '${sliver.type}' is not a service type; known: ${SERVICE_TYPES.join(', ')}`);
  }
  if (sliver.type !== event.resource_type) {
    throw new ValidationError(`network_sliver.type '${sliver.type}' does not match resource_type '${event.resource_type}'`);
  }
  const name = serviceName(event.sliver_id, sliver);
  if (event.operation === 'REDEEM') checkServiceRules(sliver.type, sliver, settings);
  if (event.operation !== 'MODIFY') return;

  // The reference's modify rules: the type and the name of a service are fixed.
  const previous = event.previous_network_sliver;
  if (!previous) throw new ValidationError('MODIFY of a network service needs previous_network_sliver (the service as provisioned)');
  if (previous.type !== sliver.type) {
    throw new ValidationError(`MODIFY cannot change the service type (${previous.type} -> ${sliver.type})`);
  }
  const before = serviceName(event.sliver_id, previous);
  if (previous.name !== sliver.name || before !== name) {
    throw new ValidationError(`MODIFY cannot change the service name (${before} -> ${name})`);
  }
  checkServiceRules(sliver.type, sliver, settings);
}
