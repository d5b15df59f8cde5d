import type { SliverEvent } from '../codec/types.js';
import { lazyChildWithSecrets, type Logger } from './logger.js';
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
 *
 * Made on first use: the pino child when a line is written at an enabled
 * level, the event's secrets when a line or a reply needs scrubbing
 * (`scrubberOf`); an event at a quiet level builds neither.
 */
export function eventLogger(root: Logger, event: SliverEvent, at: MessageAt): Logger {
  return lazyChildWithSecrets(
    root,
    () => ({
      eventId: event.event_id,
      sliverId: event.sliver_id,
      resourceType: event.resource_type,
      operation: event.operation,
      ...(event.trace_id ? { traceId: event.trace_id } : {}),
      ...at,
    }),
    () => secretsOf(event),
  );
}
