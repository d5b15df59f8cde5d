import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { crc64Avro, fingerprintHex } from '../../../src/codec/crc64.js';

// Expected values were computed independently with Python's fastavro 1.x:
//   fastavro.schema.fingerprint(to_parsing_canonical_form(schema), 'CRC-64-AVRO')
// which prints the little-endian bytes in hex. The value for "null" is also the
// one listed in the Avro specification's test data (7195948357588979594).
describe('CRC-64-AVRO', () => {
  it('matches the Avro test vector for the primitive "null"', () => {
    expect(crc64Avro('"null"')).toBe(7195948357588979594n);
    expect(fingerprintHex(crc64Avro('"null"'))).toBe('8a8f25cce724dd63');
  });

  it('matches fastavro for other primitives', () => {
    expect(fingerprintHex(crc64Avro('"int"'))).toBe('8f5c393f1ad57572');
    expect(fingerprintHex(crc64Avro('"string"'))).toBe('c70345637248018f');
  });

  it('fingerprints the canonical form of a record schema like fastavro does', () => {
    const schema = JSON.parse(readFileSync('test/fixtures/schemas/point.avsc', 'utf8'));
    const canonical = JSON.stringify(avro.Type.forSchema(schema).schema());
    expect(canonical).toBe(
      '{"name":"test.vectors.Point","type":"record","fields":[{"name":"x","type":"int"},' +
        '{"name":"label","type":["null","string"]},' +
        '{"name":"kind","type":{"name":"test.vectors.Kind","type":"enum","symbols":["A","B"]}}]}',
    );
    expect(fingerprintHex(crc64Avro(canonical))).toBe('06ba56afbd159428');
    expect(crc64Avro(canonical)).toBe(2923985962504993286n);
  });
});
