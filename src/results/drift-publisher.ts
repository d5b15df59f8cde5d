import type { IHeaders, Producer } from 'kafkajs';
import type { AvroCodec } from '../codec/codec.js';
import type { DriftReport } from '../codec/types.js';
import { sleep } from '../lib/abort.js';

export interface DriftPublisherOptions {
  producer: Pick<Producer, 'send'>;
  codec: AvroCodec;
  /** `kafka.topics.drift`. */
  topic: string;
  /** Attempts per report (transient broker errors); default 3, one second apart. */
  attempts?: number;
  retryDelayMs?: number;
}

/** The key of a report: its sliver id, or for an orphan that names none `<resource_type>:<what was found>`. */
export function driftKey(report: DriftReport, name = ''): string {
  return report.sliver_id ?? `${report.resource_type}:${name}`;
}

/**
 * Publishes drift reports (schemas/drift/v1.avsc) on the drift topic, keyed
 * by sliver id, acknowledged by all in-sync replicas. A few attempts, then
 * the error is the caller's (the reconciler logs and counts it: a report
 * that could not be published is made again at the next probe).
 */
export class DriftPublisher {
  constructor(private readonly o: DriftPublisherOptions) {}

  async send(report: DriftReport, key: string = driftKey(report)): Promise<void> {
    const value = this.o.codec.encode('drift', report);
    const headers: IHeaders = {
      'amh.drift_kind': report.kind,
      ...(report.repair ? { 'amh.repair': report.repair.action } : {}),
      'content-type': 'application/vnd.apache.avro+single-object',
    };
    const attempts = this.o.attempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.producer.send({ topic: this.o.topic, acks: -1, messages: [{ key, value, headers }] });
        return;
      } catch (err) {
        if (attempt >= attempts) throw err;
        await sleep(this.o.retryDelayMs ?? 1_000);
      }
    }
  }
}
