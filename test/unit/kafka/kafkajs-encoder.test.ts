import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { installEncoderFastPaths, uninstallEncoderFastPaths } from '../../../src/kafka/kafkajs-encoder.js';
import { PATCHED_KAFKAJS } from '../../../src/kafka/kafkajs-internals.js';

// The oracle is kafkajs' own Encoder: every output is computed with its methods, then with the fast paths.
const require = createRequire(import.meta.url);
interface Encoder {
  writeInt8(v: number): Encoder;
  writeVarInt(v: unknown): Encoder;
  writeUVarInt(v: unknown): Encoder;
  writeVarLong(v: unknown): Encoder;
  writeVarIntBytes(v: unknown): Encoder;
  buffer: Buffer;
  buf: Buffer;
}
const Encoder = require('kafkajs/src/protocol/encoder.js') as { new (size?: number): Encoder; sizeOfVarLong(v: unknown): number };
const Long = require('kafkajs/src/utils/long.js') as { fromString(s: string): unknown; fromNumber(n: number): unknown };
type Request = { apiKey: number; apiVersion: number; encode(): Promise<Encoder> };
const ProduceV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: unknown) => Request;
const FetchV11 = require('kafkajs/src/protocol/requests/fetch/v11/request.js') as (args: unknown) => Request;
const OffsetCommitV5 = require('kafkajs/src/protocol/requests/offsetCommit/v5/request.js') as (args: unknown) => Request;
/** kafkajs' framing of a request as it goes on the wire: size, api key and version, correlation id, client id. */
const frame = require('kafkajs/src/protocol/request.js') as (args: { correlationId: number; clientId: string; request: Request }) => Promise<Encoder>;

const edges = [0, 1, -1, 63, -64, 64, -65, 127, 128, 255, 8191, 8192, 16383, 16384, 2 ** 20, 2 ** 21 - 1, 2 ** 27, 2 ** 28, 2 ** 30 - 1, 2 ** 30, -(2 ** 30), 2 ** 31 - 1, -(2 ** 31)];
const random = Array.from({ length: 2000 }, (_, i) => Math.round((Math.random() - 0.5) * 2 ** (1 + (i % 32))));
const int32s = [...edges, ...random];
// Not 32-bit: these take kafkajs' own varlong path (and varint's truncation to 32 bits, the same in both).
const wide = [2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 40 + 7, -(2 ** 45), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];

function outputs(): Record<string, string[]> {
  const enc = (write: (e: Encoder) => Encoder): string => write(new Encoder()).buffer.toString('hex');
  return {
    varint: [...int32s, ...wide].map((v) => enc((e) => e.writeVarInt(v))),
    uvarint: [...int32s.filter((v) => v >= 0), 2 ** 31, 2 ** 32 - 1].map((v) => enc((e) => e.writeUVarInt(v))),
    varlong: [...int32s, ...wide].map((v) => enc((e) => e.writeVarLong(v))),
    varlongOther: [Long.fromString('-9223372036854775808'), Long.fromString('9223372036854775807'), Long.fromNumber(5), '123456789012', '-7'].map((v) => enc((e) => e.writeVarLong(v))),
    sizeOfVarLong: [...int32s, ...wide].map((v) => String(Encoder.sizeOfVarLong(v))),
    // Many varints in one encoder: it grows past its first 512 bytes mid-way.
    packed: [enc((e) => int32s.reduce((x, v) => x.writeVarInt(v).writeVarLong(v), e))],
    bytes: [enc((e) => e.writeVarIntBytes(Buffer.alloc(700, 9)).writeVarIntBytes('émetteur').writeVarIntBytes(null))],
  };
}

/** A produce request as the write batcher sends one: two topics, several partitions, keys, headers, timestamps. */
function produceRequest(): Request {
  const at = 1_764_800_000_000;
  const message = (i: number) => ({
    key: i % 5 === 0 ? null : `sliver-${i}`,
    value: i % 7 === 0 ? null : Buffer.alloc(200 + ((i * 37) % 900), i),
    headers: i % 3 === 0 ? { 'amh-kind': 'answer', multi: ['a', 'b'] } : {},
    // Deltas of 0, a few ms, and one beyond 32 bits of milliseconds (kafkajs' own path).
    timestamp: String(i === 11 ? at - 2 ** 33 : at + (i % 4)),
  });
  return ProduceV3({
    acks: -1,
    timeout: 30_000,
    topicData: [
      { topic: 'amh.state', partitions: [0, 1, 2].map((partition) => ({ partition, messages: Array.from({ length: 40 }, (_, i) => message(i + partition * 40)) })) },
      { topic: 'amh.replies', partitions: [{ partition: 1, messages: Array.from({ length: 3 }, (_, i) => message(i)) }] },
    ],
  });
}

/** Requests of several kinds, framed for the wire: a produce request, a fetch, an offset commit (strings, int64s, arrays of encoders). */
async function requests(): Promise<string[]> {
  const fetch = FetchV11({
    replicaId: -1,
    maxWaitTime: 100,
    minBytes: 1,
    maxBytes: 10_485_760,
    topics: [{ topic: 'amh.events', partitions: [0, 1, 2].map((partition) => ({ partition, fetchOffset: String(2 ** 40 + partition), maxBytes: 1_048_576 })) }],
  });
  const commit = OffsetCommitV5({
    groupId: 'amh-handlers',
    groupGenerationId: 7,
    memberId: 'amh-1-5f0c8a3e',
    topics: [{ topic: 'amh.events', partitions: [{ partition: 0, offset: '123456789012' }, { partition: 2, offset: '5' }] }],
  });
  const framed = [produceRequest(), fetch, commit].map((request, i) => frame({ correlationId: 1000 + i, clientId: 'amh-handlers', request }));
  return (await Promise.all(framed)).map((e) => e.buffer.toString('hex'));
}

describe('kafkajs encoder fast paths', () => {
  afterAll(() => {
    // The process keeps them, as the service does (other test files build clients).
    installEncoderFastPaths();
  });

  it(`are installed for kafkajs ${PATCHED_KAFKAJS}, once`, () => {
    expect(installEncoderFastPaths()).toEqual({ installed: true, version: PATCHED_KAFKAJS });
    expect(installEncoderFastPaths().installed).toBe(true);
  });

  it("write the bytes kafkajs' own encoder writes: varints, varlongs, their sizes, across buffer growth", () => {
    uninstallEncoderFastPaths();
    const before = outputs();
    installEncoderFastPaths();
    const after = outputs();
    for (const key of Object.keys(before)) expect({ key, out: after[key] }).toEqual({ key, out: before[key] });
    // The check can tell: a varlong that fits 32 bits and one that does not are both there, with several lengths.
    expect(new Set(before.sizeOfVarLong).size).toBeGreaterThanOrEqual(6);
  });

  it('encode whole requests byte for byte as kafkajs does: produce (records, CRCs, headers, null keys and values), fetch, offset commit', async () => {
    uninstallEncoderFastPaths();
    const before = await requests();
    installEncoderFastPaths();
    const after = await requests();
    expect(after[0]!.length).toBeGreaterThan(80_000);
    expect(after).toEqual(before);
  });

  it('start an encoder with no buffer of its own: its first write takes 512 bytes from the pool, growth too', () => {
    installEncoderFastPaths();
    const encoder = new Encoder();
    expect(encoder.buf.length).toBe(0);
    encoder.writeInt8(1);
    expect(encoder.buf.length).toBe(512);
    encoder.writeVarIntBytes(Buffer.alloc(600, 3));
    expect(encoder.buf.length).toBe(1024);
    // Pooled memory: a view into a larger shared ArrayBuffer, not one zero-filled ArrayBuffer per encoder.
    expect(new Encoder().writeInt8(2).buf.buffer.byteLength).toBeGreaterThan(512);
    expect(encoder.buffer.length).toBe(1 + 2 + 600);
  });

  it('replace kafkajs methods: the patched Encoder allocates no array per varint', () => {
    installEncoderFastPaths();
    const from = Buffer.from;
    let calls = 0;
    Buffer.from = ((...args: Parameters<typeof Buffer.from>) => {
      calls++;
      return from(...(args as [string]));
    }) as typeof Buffer.from;
    try {
      new Encoder().writeVarInt(300).writeVarLong(-5).writeUVarInt(1 << 20);
    } finally {
      Buffer.from = from;
    }
    expect(calls).toBe(0);
  });
});
