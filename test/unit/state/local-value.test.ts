import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog } from '../../../src/codec/index.js';
import type { SliverLedger } from '../../../src/codec/types.js';
import { DecodeError } from '../../../src/errors/index.js';
import { emptyLedger } from '../../../src/state/ledger.js';
import { COMPRESS_FROM, fromLocalValue, toLocalValue } from '../../../src/state/local-value.js';

const codec = new AvroCodec(SchemaCatalog.load());

/** A ledger with one answered event whose reply is `replyBytes` long (a VM reply is about 960). */
function ledgerWithReply(replyBytes: number): SliverLedger {
  const reply = Buffer.from('{"outcome":"OK","management_ip":"10.0.0.7","worker":"site-w1"} '.repeat(Math.ceil(replyBytes / 64)).slice(0, replyBytes));
  return {
    ...emptyLedger('sliver-1'),
    version: 4,
    epoch: 2,
    writer: 'amh-a',
    entries: [{ event_id: 'e-1', sequence: 1, operation: 'REDEEM', outcome: 'OK', finished_at: 1_700_000_000_000, reply }],
  };
}

describe('local ledger values', () => {
  it('keeps a small ledger as its state-topic bytes, unchanged', () => {
    const avro = codec.encode('state', emptyLedger('s1'));
    expect(avro.length).toBeLessThan(COMPRESS_FROM);
    const value = toLocalValue(avro);
    expect(value).toBe(avro);
    expect(fromLocalValue(codec, value)).toEqual(emptyLedger('s1'));
  });

  it('compresses a ledger from 256 bytes, and reads it back exactly', () => {
    const ledger = ledgerWithReply(960);
    const avro = codec.encode('state', ledger);
    const value = toLocalValue(avro);
    expect(value[0]).toBe(0x4c);
    expect(value.length).toBeLessThan(avro.length);
    expect(fromLocalValue(codec, value)).toEqual(ledger);
  });

  it('a value that is neither form, or damaged, is a DecodeError naming what is wrong', () => {
    const value = toLocalValue(codec.encode('state', ledgerWithReply(960)));
    expect(() => fromLocalValue(codec, Buffer.from('not a ledger'))).toThrow(DecodeError);
    expect(() => fromLocalValue(codec, Buffer.from('not a ledger'))).toThrow(/not single-object Avro/);
    const truncated = value.subarray(0, value.length - 40);
    expect(() => fromLocalValue(codec, truncated)).toThrow(DecodeError);
    const flipped = Buffer.from(value);
    flipped.writeUInt32LE(10, 1); // the original length, now wrong
    expect(() => fromLocalValue(codec, flipped)).toThrow(DecodeError);
  });
});
