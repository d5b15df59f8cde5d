import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  AvroCodec,
  SchemaCatalog,
  crc64Avro,
  frameConfluent,
  frameSingleObject,
  type SchemaRegistry,
} from '../../../src/codec/index.js';
import { DecodeError, ValidationError } from '../../../src/errors/index.js';
import { vmEvent } from '../../helpers/events.js';

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);

describe('SchemaCatalog', () => {
  it('knows every event version and reads into the newest', () => {
    const versions = catalog.versions('event').map((v) => v.version);
    expect(versions).toEqual([1, 2, 3]);
    expect(catalog.current('event').version).toBe(3);
    expect(catalog.current('result').version).toBe(1);
  });
});

describe('AvroCodec', () => {
  it('round-trips an event through single-object encoding and fills defaults', async () => {
    const input = vmEvent({ sliver_id: 'sliver-rt' });
    const bytes = codec.encode('event', input);
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(bytes.readBigUInt64LE(2)).toBe(catalog.current('event').fingerprint);

    const { value, writer } = await codec.decode('event', bytes);
    expect(writer).toMatchObject({ format: 'single-object', version: 3 });
    expect(value.sliver_id).toBe('sliver-rt');
    expect(value.node_sliver?.capacities).toEqual({ core: 2, ram: 8, disk: 10 });
    expect(value.node_sliver?.components).toEqual([]);
    expect(value.trace_id).toBeNull();
  });

  it('frames a value exactly as an independent Avro implementation would', () => {
    // fastavro: schemaless_writer(point, {'x': 3, 'label': 'hi', 'kind': 'B'}) -> 06 02 04 68 69 02,
    // and the canonical form's CRC-64-AVRO -> 06ba56afbd159428 (little-endian bytes).
    const point = avro.Type.forSchema(JSON.parse(readFileSync('test/fixtures/schemas/point.avsc', 'utf8')));
    const framed = frameSingleObject(crc64Avro(JSON.stringify(point.schema())), point.toBuffer({ x: 3, label: 'hi', kind: 'B' }));
    expect(framed.toString('hex')).toBe('c301' + '06ba56afbd159428' + '060204686902');
  });

  it('decodes an event written with the older v1 schema into the current reader', async () => {
    const v1 = catalog.versions('event').find((v) => v.version === 1);
    expect(v1).toBeDefined();
    const input = vmEvent({ sliver_id: 'sliver-old' });
    delete (input as { trace_id?: unknown }).trace_id;
    const bytes = codec.encode('event', input, v1);
    expect(bytes.readBigUInt64LE(2)).toBe(v1?.fingerprint);

    const { value, writer } = await codec.decode('event', bytes);
    expect(writer).toMatchObject({ format: 'single-object', version: 1 });
    expect(value.sliver_id).toBe('sliver-old');
    expect(value.trace_id).toBeNull(); // filled from the v2 default
  });

  it('names the field path when an event is invalid', () => {
    const bad = vmEvent({ operation: 'EXPLODE' as never, sequence: 'seven' as never });
    expect(() => codec.encode('event', bad)).toThrow(ValidationError);
    expect(() => codec.encode('event', bad)).toThrow(/sequence: expected long, got "seven"/);
  });

  it('rejects garbage, unknown fingerprints and the wrong kind with DecodeError', async () => {
    await expect(codec.decode('event', Buffer.from('hello world'))).rejects.toThrow(/unknown framing/);
    await expect(codec.decode('event', null)).rejects.toThrow(DecodeError);
    await expect(codec.decode('event', frameSingleObject(42n, Buffer.from([0])))).rejects.toThrow(
      /unknown schema fingerprint/,
    );
    const truncated = codec.encode('event', vmEvent()).subarray(0, 30);
    await expect(codec.decode('event', truncated)).rejects.toThrow(DecodeError);
    const aResult = codec.encode('event', vmEvent());
    await expect(codec.decode('result', aResult)).rejects.toThrow(/expected a result/);
  });

  it('reads Confluent framing through a schema registry, resolving the writer schema', async () => {
    const v1 = catalog.versions('event').find((v) => v.version === 1)!;
    const lookups: number[] = [];
    const registry: SchemaRegistry = {
      schemaById: async (id) => {
        lookups.push(id);
        if (id !== 7) throw new DecodeError(`schema id ${id} is not in the registry`);
        return readFileSync(v1.file, 'utf8');
      },
    };
    const withRegistry = new AvroCodec(catalog, registry);
    const body = v1.type.toBuffer(v1.type.clone(vmEvent({ sliver_id: 'sliver-cf' })));
    const decoded = await withRegistry.decode('event', frameConfluent(7, body));
    expect(decoded.value.sliver_id).toBe('sliver-cf');
    expect(decoded.writer).toEqual({ format: 'confluent', schemaId: 7 });
    await withRegistry.decode('event', frameConfluent(7, body));
    expect(lookups).toEqual([7, 7]); // the fake does no caching; the codec caches resolvers, not schemas

    await expect(codec.decode('event', frameConfluent(7, body))).rejects.toThrow(/no schema registry is configured/);
    await expect(withRegistry.decode('event', frameConfluent(8, body))).rejects.toThrow(/not in the registry/);
  });
});
