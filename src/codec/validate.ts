import type avro from 'avsc';
import { ValidationError } from '../errors/index.js';
import type { SchemaVersion } from './catalog.js';

export interface Problems {
  /** Fields of the wrong type, and (strict) fields the schema does not have. */
  wrong: string[];
  /** Required fields (no default) that are absent. */
  missing: string[];
}

/**
 * Every problem of a value against a schema, each naming its field path
 * (`node_sliver.capacities.core: expected int, got "two"`); both lists empty
 * when it fits. A missing field that has a default is not a problem. `strict`
 * also reports fields the schema does not have (what would be dropped silently).
 */
export function problemsOf(schema: SchemaVersion, value: unknown, opts: { strict?: boolean } = {}): Problems {
  const wrong: string[] = [];
  const missing: string[] = [];
  schema.type.isValid(value, {
    noUndeclaredFields: opts.strict ?? false,
    errorHook: (path: string[], v: unknown, type: avro.Type) => {
      const where = path.join('.') || '(root)';
      const unknown = opts.strict ? undeclared(type, v) : [];
      if (unknown.length > 0) wrong.push(`${where}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (${describeType(type)} has ${fieldNames(type).join(', ')})`);
      else if (v === undefined) missing.push(`${where}: required ${describeType(type)} is missing`);
      else wrong.push(`${where}: expected ${describeType(type)}, got ${JSON.stringify(v)}`);
    },
  });
  return { wrong, missing };
}

/** The ValidationError for a value that does not fit: wrong fields first, missing ones when none is wrong. */
export function invalid(schema: SchemaVersion, problems: Problems, cause?: unknown): ValidationError {
  const list = problems.wrong.length > 0 ? problems.wrong : problems.missing;
  const detail = list.length > 0 ? list.join('; ') : cause instanceof Error ? cause.message : 'does not fit the schema';
  return new ValidationError(`not a valid ${schema.kind} (schema v${schema.version}): ${detail}`, cause === undefined ? {} : { cause });
}

function fieldNames(type: avro.Type): string[] {
  return type.typeName === 'record' ? (type as avro.types.RecordType).fields.map((f) => f.name) : [];
}

/** Keys of a plain object that a record type does not declare (empty for anything else). */
function undeclared(type: avro.Type, v: unknown): string[] {
  if (type.typeName !== 'record' || v === null || typeof v !== 'object' || Array.isArray(v)) return [];
  const known = new Set(fieldNames(type));
  return Object.keys(v).filter((k) => !known.has(k) && (v as Record<string, unknown>)[k] !== undefined);
}

function describeType(type: avro.Type): string {
  const name = type.name ?? type.typeName;
  return type.typeName === 'enum' ? `one of ${(type as avro.types.EnumType).symbols.join('|')}` : name;
}
