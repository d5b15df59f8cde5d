import { DecodeError } from '../errors/index.js';

/** Avro single-object encoding marker (spec: "Single-object encoding"). */
export const SINGLE_OBJECT_MAGIC = Buffer.from([0xc3, 0x01]);
/** Confluent wire format: magic byte 0, then a 4-byte big-endian schema id. */
export const CONFLUENT_MAGIC = 0x00;

export type Frame =
  | { format: 'single-object'; fingerprint: bigint; body: Buffer }
  | { format: 'confluent'; schemaId: number; body: Buffer };

/** `C3 01` + 8-byte little-endian CRC-64-AVRO fingerprint + Avro binary body. */
export function frameSingleObject(fingerprint: bigint, body: Buffer): Buffer {
  const header = Buffer.alloc(10);
  SINGLE_OBJECT_MAGIC.copy(header, 0);
  header.writeBigUInt64LE(fingerprint, 2);
  return Buffer.concat([header, body]);
}

/** `00` + 4-byte big-endian schema id + Avro binary body. */
export function frameConfluent(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(CONFLUENT_MAGIC, 0);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

/** Recognise the framing of a message value. Throws DecodeError for anything else. */
export function parseFrame(value: Buffer | null): Frame {
  if (value === null || value.length === 0) {
    throw new DecodeError('empty message value (a tombstone or a producer bug)');
  }
  if (value.length >= 10 && value[0] === 0xc3 && value[1] === 0x01) {
    return { format: 'single-object', fingerprint: value.readBigUInt64LE(2), body: value.subarray(10) };
  }
  if (value.length >= 5 && value[0] === CONFLUENT_MAGIC) {
    return { format: 'confluent', schemaId: value.readUInt32BE(1), body: value.subarray(5) };
  }
  const head = value.subarray(0, 4).toString('hex');
  throw new DecodeError(
    `unknown framing: expected Avro single-object (c301...) or Confluent (00...) bytes, got ${head}... (${value.length} bytes)`,
  );
}
