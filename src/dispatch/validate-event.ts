import type { SliverEvent } from '../codec/types.js';
import { ValidationError } from '../errors/index.js';

/** Rules every event must follow, whatever its handler. */
export function validateEvent(event: SliverEvent, messageKey: string | null): void {
  if (event.event_id.trim() === '') throw new ValidationError('event_id is empty');
  if (event.sliver_id.trim() === '') throw new ValidationError('sliver_id is empty');
  if (event.resource_type.trim() === '') throw new ValidationError('resource_type is empty');
  if (event.sequence < 0) throw new ValidationError(`sequence must be >= 0, got ${event.sequence}`);
  // Per-sliver ordering relies on the key: a message keyed otherwise may overtake its sliver's other events.
  if (messageKey !== null && messageKey !== event.sliver_id) {
    throw new ValidationError(`message key '${messageKey}' differs from sliver_id '${event.sliver_id}'; key events by sliver_id`);
  }
  if (event.operation === 'POA' && !event.poa) throw new ValidationError('POA event without poa (operation and arguments)');
  if ((event.operation === 'REDEEM' || event.operation === 'MODIFY') && !event.node_sliver && !event.network_sliver) {
    throw new ValidationError(`${event.operation} event carries no sliver (node_sliver or network_sliver)`);
  }
}
