import type avro from 'avsc';
import { frameSingleObject } from './framing.js';

/** Largest scratch buffer kept between writes; a bigger value is written the plain way. */
const MAX_SCRATCH = 1024 * 1024;

/**
 * Writes single-object framed Avro with one pass over the value: the body is
 * written into a reused scratch buffer after the 10-byte header, then the
 * whole frame is copied out once (plain `toBuffer` + `Buffer.concat` writes,
 * zero-fills and copies twice). Synchronous, so one scratch per codec is safe.
 * avsc's writers check every value as they write it (a wrong type, a missing
 * field without default, an unknown enum symbol throw), and fill a missing
 * field's default: a value that writes is a value of the schema.
 */
export class FramedWriter {
  private scratch = Buffer.allocUnsafe(16 * 1024);

  singleObject(fingerprint: bigint, type: avro.Type, value: unknown): Buffer {
    let end = type.encode(value, this.scratch, 10);
    if (end < 0) {
      const needed = this.scratch.length - end;
      if (needed > MAX_SCRATCH) return frameSingleObject(fingerprint, type.toBuffer(value));
      this.scratch = Buffer.allocUnsafe(Math.min(MAX_SCRATCH, Math.max(needed, this.scratch.length * 2)));
      end = type.encode(value, this.scratch, 10);
    }
    const out = Buffer.allocUnsafe(end);
    out[0] = 0xc3;
    out[1] = 0x01;
    out.writeBigUInt64LE(fingerprint, 2);
    this.scratch.copy(out, 10, 10, end);
    return out;
  }
}
