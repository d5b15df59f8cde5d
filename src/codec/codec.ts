import avro from 'avsc';
import { DecodeError, ValidationError } from '../errors/index.js';
import { avroTypeOptions, type SchemaCatalog, type SchemaKind, type SchemaVersion } from './catalog.js';
import { fingerprintHex } from './crc64.js';
import { frameSingleObject, parseFrame } from './framing.js';
import type { SchemaRegistry } from './registry.js';
import type { SchemaValues } from './types.js';

/** Where a decoded value came from: useful in logs and dead-letter reasons. */
export type WriterInfo =
  | { format: 'single-object'; fingerprint: string; version: number }
  | { format: 'confluent'; schemaId: number };

export interface Decoded<K extends SchemaKind> {
  value: SchemaValues[K];
  writer: WriterInfo;
}

/**
 * Encodes with the current schema of a kind (single-object encoding) and
 * decodes any known writer schema, resolving it to the current reader schema.
 */
export class AvroCodec {
  private readonly resolvers = new Map<string, avro.Type | avro.Resolver>();

  constructor(
    readonly catalog: SchemaCatalog,
    private readonly registry?: SchemaRegistry,
  ) {}

  /** Fill defaults, validate (errors name the field path) and frame as single-object. */
  encode<K extends SchemaKind>(kind: K, value: unknown, version?: SchemaVersion): Buffer {
    const schema = version ?? this.catalog.current(kind);
    const filled = this.complete(schema, value);
    return frameSingleObject(schema.fingerprint, schema.type.toBuffer(filled));
  }

  /** The value with every missing field set to its schema default; throws ValidationError otherwise. */
  complete<K extends SchemaKind>(schema: SchemaVersion, value: unknown): SchemaValues[K] {
    const wrong: string[] = [];
    const missing: string[] = [];
    schema.type.isValid(value, {
      errorHook: (path: string[], v: unknown, type: avro.Type) => {
        const where = path.join('.') || '(root)';
        // A missing field is fine when the schema has a default for it; clone() decides.
        if (v === undefined) missing.push(`${where}: required ${describeType(type)} is missing`);
        else wrong.push(`${where}: expected ${describeType(type)}, got ${JSON.stringify(v)}`);
      },
    });
    if (wrong.length === 0) {
      try {
        return schema.type.clone(value) as SchemaValues[K];
      } catch {
        // clone() fails only on a missing field without default: report those paths.
      }
    }
    const problems = wrong.length > 0 ? wrong : missing;
    throw new ValidationError(`not a valid ${schema.kind} (schema v${schema.version}): ${problems.join('; ')}`);
  }

  async decode<K extends SchemaKind>(kind: K, bytes: Buffer | null): Promise<Decoded<K>> {
    const frame = parseFrame(bytes);
    const reader = this.catalog.current(kind);
    if (frame.format === 'single-object') {
      const writer = this.catalog.byPrint(frame.fingerprint);
      if (!writer) {
        const known = this.catalog.versions(kind).map((v) => `v${v.version}=${fingerprintHex(v.fingerprint)}`);
        throw new DecodeError(
          `unknown schema fingerprint ${fingerprintHex(frame.fingerprint)}; known ${kind} schemas: ${known.join(', ')}`,
        );
      }
      if (writer.kind !== kind) {
        throw new DecodeError(`message was written with the ${writer.kind} schema v${writer.version}, expected a ${kind}`);
      }
      const value = this.read(reader, frame.body, `fp:${frame.fingerprint}`, () => writer.type);
      return {
        value: value as SchemaValues[K],
        writer: { format: 'single-object', fingerprint: fingerprintHex(writer.fingerprint), version: writer.version },
      };
    }
    if (!this.registry) {
      throw new DecodeError(
        `Confluent-framed message (schema id ${frame.schemaId}) but no schema registry is configured (kafka.schema_registry.url)`,
      );
    }
    const text = await this.registry.schemaById(frame.schemaId);
    const value = this.read(reader, frame.body, `id:${frame.schemaId}`, () => parseWriter(text, frame.schemaId));
    return { value: value as SchemaValues[K], writer: { format: 'confluent', schemaId: frame.schemaId } };
  }

  private read(reader: SchemaVersion, body: Buffer, key: string, writerType: () => avro.Type): unknown {
    const cacheKey = `${reader.kind}|${key}`;
    let resolver = this.resolvers.get(cacheKey);
    if (!resolver) {
      const writer = writerType();
      try {
        resolver = writer.equals(reader.type) ? reader.type : reader.type.createResolver(writer);
      } catch (err) {
        throw new DecodeError(`writer schema (${key}) cannot be resolved to ${reader.kind} v${reader.version}: ${(err as Error).message}`);
      }
      this.resolvers.set(cacheKey, resolver);
    }
    try {
      return resolver === reader.type
        ? reader.type.fromBuffer(body)
        : reader.type.fromBuffer(body, resolver as avro.Resolver);
    } catch (err) {
      throw new DecodeError(`Avro body does not match its writer schema (${key}): ${(err as Error).message}`, { cause: err });
    }
  }
}

function parseWriter(text: string, id: number): avro.Type {
  try {
    return avro.Type.forSchema(JSON.parse(text), avroTypeOptions());
  } catch (err) {
    throw new DecodeError(`registry schema id ${id} is not a valid Avro schema: ${(err as Error).message}`);
  }
}

function describeType(type: avro.Type): string {
  const name = type.name ?? type.typeName;
  return type.typeName === 'enum' ? `one of ${(type as avro.types.EnumType).symbols.join('|')}` : name;
}
