import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEvents } from '../../../src/cli/event-file.js';
import { AvroCodec, SchemaCatalog, frameSingleObject } from '../../../src/codec/index.js';
import { DecodeError, ValidationError } from '../../../src/errors/index.js';
import { vmEvent } from '../../helpers/events.js';

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const eventType = catalog.current('event').type;
/** The bytes the old encode wrote (fill defaults by cloning, then frame): the lean path must write the same. */
const reference = (value: unknown) => frameSingleObject(catalog.current('event').fingerprint, eventType.toBuffer(eventType.clone(value)));

describe('lean encode (values this service built or decoded)', () => {
  it('writes exactly the bytes of a validated, default-filled clone', async () => {
    const input = vmEvent({ sliver_id: 'sliver-lean' }); // trace_id, components, ... left to their defaults
    expect(codec.encode('event', input).equals(reference(input))).toBe(true);
    const decoded = (await codec.decode('event', codec.encode('event', input))).value;
    expect(codec.encode('event', decoded).equals(reference(input))).toBe(true);
  });

  it('returns a buffer of its own: the next encode does not overwrite the previous one', async () => {
    const first = codec.encode('event', vmEvent({ sliver_id: 'sliver-first' }));
    const copy = Buffer.from(first);
    codec.encode('event', vmEvent({ sliver_id: 'sliver-second-with-a-longer-id' }));
    expect(first.equals(copy)).toBe(true);
    expect((await codec.decode('event', first)).value.sliver_id).toBe('sliver-first');
  });

  it('writes values larger than its scratch buffer, including ones over 1 MiB', async () => {
    for (const size of [40_000, 1_500_000]) {
      const input = vmEvent({ sliver_id: 'x'.repeat(size) });
      const bytes = codec.encode('event', input);
      expect(bytes.equals(reference(input))).toBe(true);
      expect((await codec.decode('event', bytes)).value.sliver_id).toHaveLength(size);
    }
    // Back to a small value after the big ones: the grown scratch still writes it right.
    const small = vmEvent({ sliver_id: 'small-again' });
    expect(codec.encode('event', small).equals(reference(small))).toBe(true);
  });

  it('still names the field path of a value that does not fit, and leaves no partial bytes behind', async () => {
    const result = { ...(await sampleResult()), duration_ms: 'slow' };
    expect(() => codec.encode('result', result)).toThrow(ValidationError);
    expect(() => codec.encode('result', result)).toThrow(/not a valid result \(schema v1\): duration_ms: expected long, got "slow"/);
    const noSliver = vmEvent();
    delete (noSliver as { sliver_id?: unknown }).sliver_id;
    expect(() => codec.encode('event', noSliver)).toThrow(/sliver_id: required string is missing/);
    expect(() => codec.encode('event', null)).toThrow(ValidationError);
    // The codec is still usable after a failed write.
    expect(codec.encode('event', vmEvent({ sliver_id: 'after' })).length).toBeGreaterThan(10);
  });
});

describe('decode, where bytes enter', () => {
  it('rejects a body with bytes missing or left over, naming the writer schema', async () => {
    const bytes = codec.encode('event', vmEvent());
    await expect(codec.decode('event', Buffer.concat([bytes, Buffer.from([0, 0])]))).rejects.toThrow(/does not match its writer schema \(fp:\d+\): trailing data \(2 bytes\)/);
    await expect(codec.decode('event', bytes.subarray(0, bytes.length - 3))).rejects.toThrow(DecodeError);
    await expect(codec.decode('event', Buffer.from([0xc3, 0x01, 1, 2, 3]))).rejects.toThrow(/unknown framing/); // too short for a fingerprint
  });
});

describe('checked encode (data from outside: amh send, library callers)', () => {
  it('rejects a misspelt field that the lean path would drop silently, naming it and the known ones', () => {
    const typo = { ...vmEvent(), slice_idd: 'slice-1' };
    expect(() => codec.encode('event', typo)).not.toThrow();
    expect(() => codec.encodeChecked('event', typo)).toThrow(ValidationError);
    expect(() => codec.encodeChecked('event', typo)).toThrow(/\(root\): unknown field slice_idd \(org\.amhandlers\.event\.SliverEvent has event_id, /);
    const nested = vmEvent({ node_sliver: { ...(vmEvent().node_sliver as object), capacities: { core: 2, ram: 8, disk: 10, gpu: 1 } } });
    expect(() => codec.encodeChecked('event', nested)).toThrow(/node_sliver\.capacities: unknown field gpu/);
  });

  it('reports wrong types and missing required fields like the lean path, and frames a good value identically', () => {
    expect(() => codec.encodeChecked('event', vmEvent({ sequence: 'seven' as never }))).toThrow(/sequence: expected long, got "seven"/);
    const missing = vmEvent();
    delete (missing as { operation?: unknown }).operation;
    expect(() => codec.encodeChecked('event', missing)).toThrow(/operation: required one of .*REDEEM.* is missing/);
    const good = vmEvent({ sliver_id: 'sliver-checked' });
    expect(codec.encodeChecked('event', good).equals(codec.encode('event', good))).toBe(true);
  });

  it('accepts every example event a user can send', () => {
    const dir = 'examples';
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) {
      for (const e of readEvents(join(dir, f))) {
        expect(() => codec.encodeChecked('event', { event_id: 'e-1', timestamp: 1, ...e }), f).not.toThrow();
      }
    }
  });
});

/** A result as the service builds it, read back from bytes so every field is present. */
async function sampleResult(): Promise<Record<string, unknown>> {
  const result = {
    event_id: 'e-1', sliver_id: 's-1', slice_id: 'slice-1', resource_type: 'VM', operation: 'REDEEM', outcome: 'OK',
    result_code: 0, message: 'ok', error_code: null, failed_step: null, sequence: 1, sliver: null, poa: null,
    started_at: 1, finished_at: 2, duration_ms: 1, attempts: 1, host_stats: [], handler: 'vm', trace_id: null,
  };
  return (await codec.decode('result', codec.encode('result', result))).value as unknown as Record<string, unknown>;
}
