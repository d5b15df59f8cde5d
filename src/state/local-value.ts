import { compressSync, uncompressSync } from 'lz4-napi';
import type { AvroCodec } from '../codec/codec.js';
import type { SliverLedger } from '../codec/types.js';
import { DecodeError } from '../errors/index.js';

/**
 * How the local store keeps a ledger: its state-topic bytes (single-object
 * Avro, as written to and read from the topic, so nothing is encoded twice),
 * LZ4-compressed from COMPRESS_FROM bytes.
 *
 * - Uncompressed: the Avro bytes as they are (they start with the single-object marker C3 01).
 * - Compressed: `L` (0x4C), then lz4-napi's block (the original length, 4 bytes little-endian, then LZ4).
 *
 * Compressed here, on the main thread, and not by lmdb-js: lmdb-js compresses an asynchronous put by
 * queueing it to libuv's thread pool and calling back into JavaScript when done, which cost about a tenth of
 * the pipeline's main thread (README "Batched writes"); LZ4 of a ledger here takes microseconds.
 */
export const COMPRESS_FROM = 256;

const LZ4 = 0x4c;
const TAG = Buffer.from([LZ4]);

/** The stored form of a ledger's state-topic bytes. */
export function toLocalValue(avro: Buffer): Buffer {
  if (avro.length < COMPRESS_FROM) return avro;
  return Buffer.concat([TAG, compressSync(avro)]);
}

/** The ledger a stored value holds; DecodeError when it is neither form, or does not decode. */
export function fromLocalValue(codec: AvroCodec, value: Buffer): SliverLedger {
  let avro = value;
  if (value[0] === LZ4) {
    try {
      avro = uncompressSync(value.subarray(1));
    } catch (err) {
      throw new DecodeError(`local ledger value does not decompress (${value.length} bytes): ${(err as Error).message}`, { cause: err });
    }
  }
  return codec.decodeSingleObject('state', avro).value;
}
