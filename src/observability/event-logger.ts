import type { SliverEvent } from '../codec/types.js';
import { withSecrets, type Logger } from './logger.js';
import { secretsOf } from './redact.js';

/** Where a message was read (topic, partition, offset). */
export interface MessageAt {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * The child logger of one event: every line about it carries eventId,
 * sliverId, resourceType, operation (and traceId) plus where it was read, and
 * has the event's own secrets scrubbed. Handlers, the executor and the
 * playbook runner all log through it (they get it as `ctx.logger`).
 */
export function eventLogger(root: Logger, event: SliverEvent, at: MessageAt): Logger {
  const child = root.child({
    eventId: event.event_id,
    sliverId: event.sliver_id,
    resourceType: event.resource_type,
    operation: event.operation,
    ...(event.trace_id ? { traceId: event.trace_id } : {}),
    ...at,
  });
  return withSecrets(child, secretsOf(event));
}
