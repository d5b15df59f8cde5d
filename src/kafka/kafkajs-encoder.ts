import { kafkajsModule, kafkajsVersion, unpatchable, type KafkajsPatch } from './kafkajs-internals.js';

/**
 * kafkajs' protocol encoder without most of its garbage (README "Batched writes", fifth pass).
 *
 * kafkajs 2.2.4 (its last release) writes every varint of a record (length, offset delta, key and value
 * lengths) by pushing bytes into an array and copying it with `Buffer.from`, and every varlong (the
 * timestamp delta) through 64-bit `Long` (BigInt) arithmetic: about 6 KiB of garbage per answered event
 * in the no-op drain, a fifth of what kafkajs allocates. These replacements write the same bytes straight
 * into the encoder's buffer; a varlong that fits in 32 bits (every timestamp delta of one batch) takes the
 * 32-bit path, anything else kafkajs' own.
 *
 * kafkajs also gives every `Encoder` (one per record, per record batch, per partition, per topic, per
 * request) a zero-filled 512-byte buffer of its own, and grows it with zero-filled ones: an ArrayBuffer
 * allocation each, 2 µs of a record's 3.4 µs. Here an encoder starts empty and takes its first 512 bytes,
 * and every growth, from Node's pool of unfilled memory (`Buffer.allocUnsafe`; nothing past what was
 * written is ever read: an encoder's bytes are `buf.slice(0, offset)`).
 *
 * They replace methods of kafkajs' `Encoder` class, process-wide, for every client in the process (the
 * bench's baseline relay too): only for the release they were written against (`PATCHED_KAFKAJS`, kafkajs-internals.ts); with
 * another release kafkajs stays as it is and `installEncoderFastPaths` says why.
 * test/unit/kafka/kafkajs-encoder.test.ts proves the bytes identical to kafkajs' own, value by value and
 * for whole framed produce, fetch and offset commit requests.
 */

interface EncoderInstance {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
  writeUVarInt(value: number): EncoderInstance;
}

interface EncoderMethods {
  ensureAvailable(this: EncoderInstance, length: number): void;
  writeUVarInt(this: EncoderInstance, value: number): EncoderInstance;
  writeVarLong(this: EncoderInstance, value: unknown): EncoderInstance;
  sizeOfVarLong(value: unknown): number;
  nextPowerOfTwo(value: number): number;
}

interface EncoderClass {
  prototype: EncoderMethods;
  sizeOfVarLong(value: unknown): number;
  nextPowerOfTwo(value: number): number;
}

/** kafkajs' first buffer size: its constructor's 511 rounded up. */
const FIRST_BYTES = 512;

/** Where the fast paths stand in this process. */
export type EncoderFastPaths = KafkajsPatch;

let originals: EncoderMethods | null = null;

/** The zigzag form of a 32-bit integer, as an unsigned 32-bit number (kafkajs' 64-bit form has the same bytes). */
const zigzag32 = (value: number): number => ((value << 1) ^ (value >> 31)) >>> 0;

/** Whether `value` takes the 32-bit path: a whole number in the 32-bit signed range. */
const fits32 = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff;

/** The next power of two above `value` (kafkajs' rounding, computed here: its own now serves the constructor). */
const powerAbove = (value: number): number => 1 << (32 - Math.clz32(value));

function ensureAvailable(this: EncoderInstance, length: number): void {
  const needed = this.offset + length;
  if (needed <= this.buf.length) return;
  const grown = Buffer.allocUnsafe(Math.max(FIRST_BYTES, powerAbove(needed)));
  this.buf.copy(grown, 0, 0, this.offset);
  this.buf = grown;
}

/**
 * What kafkajs' constructor sizes its first buffer with (`Buffer.alloc(Encoder.nextPowerOfTwo(511))`), and
 * nothing else once `ensureAvailable` is ours: 0, so an encoder starts with an empty buffer and allocates on
 * its first write.
 */
const emptyAtFirst = (): number => 0;

function writeUVarInt(this: EncoderInstance, value: number): EncoderInstance {
  // kafkajs' loop, byte for byte (the mask and the unsigned shift truncate to 32 bits as there): at most 5 bytes.
  this.ensureAvailable(5);
  const buf = this.buf;
  let at = this.offset;
  while ((value & 0xffffff80) !== 0) {
    buf[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[at++] = value & 0x7f;
  this.offset = at;
  return this;
}

function writeVarLong(this: EncoderInstance, value: unknown): EncoderInstance {
  if (!fits32(value)) return (originals as EncoderMethods).writeVarLong.call(this, value);
  return this.writeUVarInt(zigzag32(value));
}

function sizeOfVarLong(value: unknown): number {
  if (!fits32(value)) return (originals as EncoderMethods).sizeOfVarLong(value);
  let rest = zigzag32(value);
  let bytes = 1;
  while ((rest & 0xffffff80) !== 0) {
    bytes++;
    rest >>>= 7;
  }
  return bytes;
}

function encoderClass(): EncoderClass {
  return kafkajsModule<EncoderClass>('src/protocol/encoder.js');
}

/** Installs the fast paths (once per process; later calls only report). */
export function installEncoderFastPaths(): EncoderFastPaths {
  const version = kafkajsVersion();
  if (originals) return { installed: true, version };
  const refused = unpatchable(version);
  if (refused) return refused;
  const Encoder = encoderClass();
  const proto = Encoder.prototype;
  const methods = [proto.ensureAvailable, proto.writeUVarInt, proto.writeVarLong, Encoder.sizeOfVarLong, Encoder.nextPowerOfTwo];
  if (methods.some((m) => typeof m !== 'function')) {
    return { installed: false, version, reason: 'kafkajs Encoder lacks ensureAvailable, writeUVarInt, writeVarLong, sizeOfVarLong or nextPowerOfTwo' };
  }
  originals = {
    ensureAvailable: proto.ensureAvailable,
    writeUVarInt: proto.writeUVarInt,
    writeVarLong: proto.writeVarLong,
    sizeOfVarLong: Encoder.sizeOfVarLong.bind(Encoder),
    nextPowerOfTwo: Encoder.nextPowerOfTwo.bind(Encoder),
  };
  proto.ensureAvailable = ensureAvailable;
  proto.writeUVarInt = writeUVarInt;
  proto.writeVarLong = writeVarLong;
  Encoder.sizeOfVarLong = sizeOfVarLong;
  Encoder.nextPowerOfTwo = emptyAtFirst;
  return { installed: true, version };
}

/** Puts kafkajs' own methods back (tests compare the two). */
export function uninstallEncoderFastPaths(): void {
  if (!originals) return;
  const Encoder = encoderClass();
  Encoder.prototype.ensureAvailable = originals.ensureAvailable;
  Encoder.prototype.writeUVarInt = originals.writeUVarInt;
  Encoder.prototype.writeVarLong = originals.writeVarLong;
  // The bound original: `this` inside kafkajs' static is the class, as when called as Encoder.sizeOfVarLong.
  Encoder.sizeOfVarLong = originals.sizeOfVarLong;
  Encoder.nextPowerOfTwo = originals.nextPowerOfTwo;
  originals = null;
}
