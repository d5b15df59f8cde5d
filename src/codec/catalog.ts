import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { ConfigError } from '../errors/index.js';
import { crc64Avro, fingerprintHex } from './crc64.js';

/** The schema families this service speaks. */
export type SchemaKind = 'event' | 'result' | 'state' | 'progress' | 'drift';

export interface SchemaVersion {
  kind: SchemaKind;
  version: number;
  type: avro.Type;
  /** Parsing Canonical Form, the text the fingerprint is computed over. */
  canonical: string;
  fingerprint: bigint;
  file: string;
}

export const DEFAULT_SCHEMAS_DIR = fileURLToPath(new URL('../../schemas', import.meta.url));

/**
 * avsc options for every parse: unions stay unwrapped (null | record).
 * A fresh object each time: avsc stores its registry of named types in it.
 */
export function avroTypeOptions(): { wrapUnions: 'never' } {
  return { wrapUnions: 'never' };
}

/**
 * Every schema version in `schemas/<kind>/v<N>.avsc`, indexed by
 * CRC-64-AVRO fingerprint. The highest version of a kind is the one this
 * service reads into and writes with; older versions are kept so events
 * written by older producers resolve to the current reader schema.
 */
export class SchemaCatalog {
  private readonly byFingerprint = new Map<bigint, SchemaVersion>();
  private readonly latest = new Map<SchemaKind, SchemaVersion>();

  static load(dir: string = DEFAULT_SCHEMAS_DIR): SchemaCatalog {
    const catalog = new SchemaCatalog();
    for (const kind of ['event', 'result', 'state', 'progress', 'drift'] as const) {
      let files: string[];
      try {
        files = readdirSync(join(dir, kind)).filter((f) => /^v\d+\.avsc$/.test(f));
      } catch (err) {
        throw new ConfigError(`schemas: cannot read ${join(dir, kind)}`, { cause: err });
      }
      if (files.length === 0) throw new ConfigError(`schemas: no v<N>.avsc files in ${join(dir, kind)}`);
      for (const file of files) catalog.add(kind, Number(file.slice(1, -5)), join(dir, kind, file));
    }
    return catalog;
  }

  private add(kind: SchemaKind, version: number, file: string): void {
    let type: avro.Type;
    try {
      type = avro.Type.forSchema(JSON.parse(readFileSync(file, 'utf8')), avroTypeOptions());
    } catch (err) {
      throw new ConfigError(`schemas: ${file} is not a valid Avro schema: ${(err as Error).message}`, { cause: err });
    }
    // avsc's schema() without attributes is the Parsing Canonical Form
    // (full names, no docs/defaults/aliases, spec field order); the unit
    // tests check it against fingerprints computed by another implementation.
    const canonical = JSON.stringify(type.schema());
    const entry: SchemaVersion = { kind, version, type, canonical, fingerprint: crc64Avro(canonical), file };
    const clash = this.byFingerprint.get(entry.fingerprint);
    if (clash) throw new ConfigError(`schemas: ${file} has the same canonical form as ${clash.file}`);
    this.byFingerprint.set(entry.fingerprint, entry);
    const current = this.latest.get(kind);
    if (!current || current.version < version) this.latest.set(kind, entry);
  }

  current(kind: SchemaKind): SchemaVersion {
    const entry = this.latest.get(kind);
    if (!entry) throw new ConfigError(`schemas: no schema of kind '${kind}'`);
    return entry;
  }

  byPrint(fingerprint: bigint): SchemaVersion | undefined {
    return this.byFingerprint.get(fingerprint);
  }

  versions(kind?: SchemaKind): SchemaVersion[] {
    return [...this.byFingerprint.values()]
      .filter((v) => kind === undefined || v.kind === kind)
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.version - b.version);
  }

  /** For logs and `amh schemas`: kind, version and fingerprint of each known schema. */
  describe(): { kind: SchemaKind; version: number; fingerprint: string; current: boolean }[] {
    return this.versions().map((v) => ({
      kind: v.kind,
      version: v.version,
      fingerprint: fingerprintHex(v.fingerprint),
      current: this.current(v.kind) === v,
    }));
  }
}
