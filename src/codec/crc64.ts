/**
 * CRC-64-AVRO, the Rabin fingerprint from the Avro specification
 * ("Schema Fingerprints"). avsc has no built-in for it; single-object
 * encoding needs it. Computed once per schema, so BigInt speed is fine.
 */
const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE: bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) {
      fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
    }
    table.push(fp & MASK);
  }
  return table;
})();

/** The 64-bit fingerprint of `data` (a string is taken as UTF-8). */
export function crc64Avro(data: string | Uint8Array): bigint {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fp = EMPTY;
  for (const byte of bytes) {
    fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint);
  }
  return fp & MASK;
}

/** The fingerprint as the 8 little-endian bytes that follow `C3 01` on the wire. */
export function fingerprintBytes(fingerprint: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fingerprint);
  return out;
}

/** Hex of the little-endian bytes: how tools such as fastavro print it. */
export function fingerprintHex(fingerprint: bigint): string {
  return fingerprintBytes(fingerprint).toString('hex');
}
