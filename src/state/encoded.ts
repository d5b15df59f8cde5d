import type { AvroCodec } from '../codec/codec.js';
import type { SliverLedger } from '../codec/types.js';

/** Encoded ledger records, by the record object (records are never changed once built: each update makes a new one). */
const encoded = new WeakMap<SliverLedger, Buffer>();

/**
 * The state-topic bytes of a ledger record, encoded once: the gate encodes a record to keep it under
 * `consumer.max_ledger_bytes`, and the store writes those same bytes (the largest encode of an event's path).
 */
export function encodeState(codec: AvroCodec, record: SliverLedger): Buffer {
  let bytes = encoded.get(record);
  if (!bytes) {
    bytes = codec.encode('state', record);
    encoded.set(record, bytes);
  }
  return bytes;
}

/**
 * `bytes` are the state-topic bytes of `record`, as read from the topic (single-object Avro): the local store
 * keeps those, so a record the reader or a restore applies is not encoded again. A copy is kept, not the
 * slice of the fetched response it came in.
 */
export function rememberEncoded(record: SliverLedger, bytes: Buffer): void {
  encoded.set(record, Buffer.from(bytes));
}
