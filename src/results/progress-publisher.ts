import type { Producer } from 'kafkajs';
import type { AvroCodec } from '../codec/codec.js';
import type { SliverProgress } from '../codec/types.js';
import { errorMessage } from '../errors/index.js';
import type { ServiceEvents } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';

export interface ProgressPublisherOptions {
  producer: Pick<Producer, 'send'>;
  codec: AvroCodec;
  /** `kafka.topics.progress`. */
  topic: string;
  instanceId: string;
  logger: Logger;
  /** Publishes allowed in flight; beyond, records are dropped (and counted). Default 100. */
  maxInFlight?: number;
  now?: () => number;
}

const WARN_EVERY_MS = 30_000;

/**
 * Publishes the service's `progress` events on the progress topic, keyed by
 * sliver id. Best effort by design: progress is for watching, the reply is
 * the outcome, so a failed publish is not retried and never holds up an
 * operation. Failures and drops are logged (at most one warning per 30 s,
 * with counts), never silently lost.
 */
export class ProgressPublisher {
  private inFlight = new Set<Promise<void>>();
  private failed = 0;
  private dropped = 0;
  private lastWarn = 0;
  private readonly maxInFlight: number;
  private readonly now: () => number;

  constructor(private readonly o: ProgressPublisherOptions) {
    this.maxInFlight = o.maxInFlight ?? 100;
    this.now = o.now ?? Date.now;
  }

  /** Listener for ServiceEvents 'progress'. */
  readonly onProgress = (p: ServiceEvents['progress'][0]): void => {
    if (this.inFlight.size >= this.maxInFlight) {
      this.dropped++;
      this.warn('progress records dropped: too many publishes in flight');
      return;
    }
    const { event } = p;
    const record: SliverProgress = {
      event_id: event.event_id,
      sliver_id: event.sliver_id,
      slice_id: event.slice_id,
      resource_type: event.resource_type,
      operation: event.operation,
      step: p.step ?? 1,
      playbook: p.playbook,
      play: p.play ?? '',
      task: p.task,
      host: p.host,
      task_index: p.taskIndex,
      task_count: p.taskCount,
      timestamp: this.now(),
      instance: this.o.instanceId,
    };
    const sent = this.send(record).finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  };

  /** Waits for the publishes in flight (before the producer disconnects). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async send(record: SliverProgress): Promise<void> {
    try {
      const value = this.o.codec.encode('progress', record);
      await this.o.producer.send({ topic: this.o.topic, acks: 1, messages: [{ key: record.sliver_id, value }] });
    } catch (err) {
      this.failed++;
      this.warn(`progress record not published: ${errorMessage(err)}`);
    }
  }

  private warn(message: string): void {
    const now = this.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    this.o.logger.warn({ topic: this.o.topic, failed: this.failed, dropped: this.dropped }, message);
  }
}
