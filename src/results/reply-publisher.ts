import type { IHeaders, Producer } from 'kafkajs';
import type { AvroCodec } from '../codec/codec.js';
import type { SliverResult } from '../codec/types.js';
import { repairHeaders } from '../reconcile/repair-event.js';

/** Publishes results on the reply topic, keyed by sliver id, single-object encoded. */
export class ReplyPublisher {
  constructor(
    private readonly producer: Pick<Producer, 'send'>,
    private readonly codec: AvroCodec,
    private readonly topic: string,
  ) {}

  /** One attempt, acknowledged by all in-sync replicas; the caller decides about retries. */
  async send(result: SliverResult, encoded?: Buffer): Promise<void> {
    const value = encoded ?? this.codec.encode('result', result);
    const headers: IHeaders = {
      'amh.event_id': result.event_id,
      'amh.outcome': result.outcome,
      'content-type': 'application/vnd.apache.avro+single-object',
      // A repair's reply (README "Reconciliation"): amh.repair and amh.repair_of.
      ...repairHeaders(result.event_id),
    };
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key: result.sliver_id, value, headers }] });
  }
}
