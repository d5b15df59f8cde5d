import avro from 'avsc';
import { DecodeError } from '../errors/index.js';
import { avroTypeOptions, type SchemaCatalog, type SchemaKind, type SchemaVersion } from './catalog.js';
import { fingerprintHex } from './crc64.js';
import { parseFrame } from './framing.js';
import type { SchemaRegistry } from './registry.js';
import type { SchemaValues } from './types.js';
import { invalid, problemsOf } from './validate.js';
import { FramedWriter } from './writer.js';

/** Where a decoded value came from: useful in logs and dead-letter reasons. */
export type WriterInfo =
  | { format: 'single-object'; fingerprint: string; version: number }
  | { format: 'confluent'; schemaId: number };

export interface Decoded<K extends SchemaKind> {
  value: SchemaValues[K];
  writer: WriterInfo;
}

/** What decoding with one writer schema needs, worked out on its first message. */
interface Reading {
  kind: SchemaKind;
  read: Read;
  writer: WriterInfo;
}

/** Reads the Avro body that starts at `start` and must end where the buffer ends. */
type Read = (bytes: Buffer, start: number) => unknown;

/**
 * Encodes with the current schema of a kind (single-object encoding) and
 * decodes any known writer schema, resolving it to the current reader schema.
 *
 * Validation happens once, where data enters:
 * - `decode` validates by construction (bytes that do not read as the schema throw DecodeError);
 * - `encode` is the hot path for values this service built or decoded (results, ledger
 *   records, progress, a decoded event): one write, no separate validity pass and no clone;
 * - `encodeChecked` is for data from outside (`amh send`'s event files, a library caller's
 *   objects): the whole value is checked first, unknown fields included.
 * Both encodes throw ValidationError naming the field path of a value that does not fit.
 */
export class AvroCodec {
  /** Single-object readers by writer fingerprint. */
  private readonly readings = new Map<bigint, Reading>();
  /** Confluent readers by `kind|schema id`. */
  private readonly confluent = new Map<string, Read>();
  private readonly writer = new FramedWriter();

  constructor(
    readonly catalog: SchemaCatalog,
    private readonly registry?: SchemaRegistry,
  ) {}

  /**
   * Frame a value this service built (typed) as single-object Avro. Missing fields
   * take their schema defaults; avsc checks each field as it writes it, so a value
   * that does not fit still throws ValidationError (its paths are worked out then).
   */
  encode<K extends SchemaKind>(kind: K, value: unknown, version?: SchemaVersion): Buffer {
    const schema = version ?? this.catalog.current(kind);
    try {
      return this.writer.singleObject(schema.fingerprint, schema.type, value);
    } catch (err) {
      throw invalid(schema, problemsOf(schema, value), err);
    }
  }

  /**
   * Check a value from outside against the schema (wrong types, missing fields
   * without default, fields the schema does not have, e.g. a misspelt key in an
   * event file that would otherwise be dropped), then frame it like `encode`.
   */
  encodeChecked<K extends SchemaKind>(kind: K, value: unknown, version?: SchemaVersion): Buffer {
    const schema = version ?? this.catalog.current(kind);
    const problems = problemsOf(schema, value, { strict: true });
    if (problems.wrong.length > 0 || problems.missing.length > 0) throw invalid(schema, problems);
    return this.encode(kind, value, schema);
  }

  /** The value with every missing field set to its schema default; throws ValidationError (naming paths) otherwise. */
  complete<K extends SchemaKind>(schema: SchemaVersion, value: unknown): SchemaValues[K] {
    const problems = problemsOf(schema, value);
    if (problems.wrong.length > 0 || problems.missing.length > 0) throw invalid(schema, problems);
    return schema.type.clone(value) as SchemaValues[K];
  }

  async decode<K extends SchemaKind>(kind: K, bytes: Buffer | null): Promise<Decoded<K>> {
    // The common case first, read in place: no frame object, no subarray.
    if (bytes !== null && isSingleObject(bytes)) return this.readSingleObject(kind, bytes);
    const frame = parseFrame(bytes);
    if (frame.format === 'single-object') throw new DecodeError('unreachable: single-object frames are read above');
    if (!this.registry) {
      throw new DecodeError(
        `Confluent-framed message (schema id ${frame.schemaId}) but no schema registry is configured (kafka.schema_registry.url)`,
      );
    }
    // Asked every time (the registry client caches; a test's fake counts the look-ups); the reader is made once.
    const text = await this.registry.schemaById(frame.schemaId);
    const key = `${kind}|${frame.schemaId}`;
    let read = this.confluent.get(key);
    if (!read) {
      read = readerFor(this.catalog.current(kind), parseWriter(text, frame.schemaId), `id:${frame.schemaId}`);
      this.confluent.set(key, read);
    }
    return { value: read(frame.body, 0) as SchemaValues[K], writer: { format: 'confluent', schemaId: frame.schemaId } };
  }

  /**
   * Reads single-object Avro at once (no registry is ever asked: the writer schema is one of the catalog's),
   * e.g. what this service wrote itself. DecodeError for anything else, or bytes that do not match.
   */
  decodeSingleObject<K extends SchemaKind>(kind: K, bytes: Buffer): Decoded<K> {
    if (!isSingleObject(bytes)) throw new DecodeError(`not single-object Avro (${bytes.length} bytes, starting ${bytes.subarray(0, 2).toString('hex')})`);
    return this.readSingleObject(kind, bytes);
  }

  /** `decodeSingleObject` once the marker is known to be there (`decode` has just looked). */
  private readSingleObject<K extends SchemaKind>(kind: K, bytes: Buffer): Decoded<K> {
    const fingerprint = bytes.readBigUInt64LE(2);
    const reading = this.readings.get(fingerprint) ?? this.readingFor(fingerprint, kind);
    if (reading.kind !== kind) {
      const v = (reading.writer as { version: number }).version;
      throw new DecodeError(`message was written with the ${reading.kind} schema v${v}, expected a ${kind}`);
    }
    return { value: reading.read(bytes, 10) as SchemaValues[K], writer: reading.writer };
  }

  /** Works out (once per fingerprint) how to read a single-object writer schema. */
  private readingFor(fingerprint: bigint, kind: SchemaKind): Reading {
    const writer = this.catalog.byPrint(fingerprint);
    if (!writer) {
      const known = this.catalog.versions(kind).map((v) => `v${v.version}=${fingerprintHex(v.fingerprint)}`);
      throw new DecodeError(`unknown schema fingerprint ${fingerprintHex(fingerprint)}; known ${kind} schemas: ${known.join(', ')}`);
    }
    const info: WriterInfo = Object.freeze({ format: 'single-object', fingerprint: fingerprintHex(writer.fingerprint), version: writer.version });
    const reading: Reading = {
      kind: writer.kind,
      writer: info,
      read: readerFor(this.catalog.current(writer.kind), writer.type, `fp:${fingerprint}`),
    };
    this.readings.set(fingerprint, reading);
    return reading;
  }
}

/** The single-object marker (C3 01) and room for the fingerprint after it. */
function isSingleObject(bytes: Buffer): boolean {
  return bytes.length >= 10 && bytes[0] === 0xc3 && bytes[1] === 0x01;
}

/** Reads a body written with `writer` into the current `reader` schema; DecodeError when it cannot. */
function readerFor(reader: SchemaVersion, writer: avro.Type, key: string): Read {
  let resolver: avro.Resolver | undefined;
  if (!writer.equals(reader.type)) {
    try {
      resolver = reader.type.createResolver(writer);
    } catch (err) {
      throw new DecodeError(`writer schema (${key}) cannot be resolved to ${reader.kind} v${reader.version}: ${(err as Error).message}`);
    }
  }
  return (bytes, start) => {
    let problem: string;
    try {
      const { value, offset } = reader.type.decode(bytes, start, resolver);
      if (offset === bytes.length) return value;
      problem = offset < 0 ? 'truncated buffer' : `trailing data (${bytes.length - offset} bytes)`;
    } catch (err) {
      throw new DecodeError(`Avro body does not match its writer schema (${key}): ${(err as Error).message}`, { cause: err });
    }
    throw new DecodeError(`Avro body does not match its writer schema (${key}): ${problem}`);
  };
}

function parseWriter(text: string, id: number): avro.Type {
  try {
    return avro.Type.forSchema(JSON.parse(text), avroTypeOptions());
  } catch (err) {
    throw new DecodeError(`registry schema id ${id} is not a valid Avro schema: ${(err as Error).message}`);
  }
}
