import type { Producer } from 'kafkajs';
import type { AvroCodec } from '../codec/codec.js';
import type { DriftReport } from '../codec/types.js';

/** The key of a drift record: its sliver id, or `<resource_type>:<substrate name>` for an orphan that names none. */
export function driftKey(record: DriftReport): string {
  if (record.sliver_id) return record.sliver_id;
  const found = record.found ? (JSON.parse(record.found) as { name?: unknown }) : {};
  return `${record.resource_type}:${typeof found.name === 'string' ? found.name : '?'}`;
}

/** Publishes drift and orphan records on `kafka.topics.drift` (Avro, schemas/drift), acknowledged by every replica. */
export class DriftPublisher {
  constructor(
    private readonly producer: Pick<Producer, 'send'>,
    private readonly codec: AvroCodec,
    private readonly topic: string,
  ) {}

  async publish(records: readonly DriftReport[]): Promise<void> {
    if (records.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: records.map((r) => ({ key: driftKey(r), value: this.codec.encode('drift', r) })),
    });
  }
}
