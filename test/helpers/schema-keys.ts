import type { z } from 'zod';

/** A leaf of a config schema: its dotted path (`<name>` for a map key) and its default, when it has one. */
export interface SchemaKey {
  path: string;
  default?: unknown;
  /** A duration (its default is in ms; the README writes `15m`). */
  duration: boolean;
  /** A section that may be null as a whole: the keys inside it, which the README may document one by one. */
  parts?: string[];
}

interface Def {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  out?: z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  valueType?: z.core.$ZodType;
  defaultValue?: unknown;
}

/** Every leaf key of `schema`, depth first; map keys show as `<name>` (maps of plain values are one key). */
export function schemaKeys(schema: z.core.$ZodType, prefix: string[] = []): SchemaKey[] {
  let current = schema;
  let fallback: unknown;
  let transformed = false;
  let nullable = false;
  for (;;) {
    const def = current._zod.def as Def;
    if (def.type === 'nullable') nullable = true;
    if ((def.type === 'default' || def.type === 'prefault') && fallback === undefined) fallback = def.defaultValue;
    if (['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch'].includes(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) {
      if ((def.out?._zod.def as Def | undefined)?.type === 'transform') transformed = true;
      current = def.in;
    } else break;
  }
  const def = current._zod.def as Def;
  // A section that may be null as a whole (`max_flavor: null`) is documented as one key.
  if (def.type === 'object' && def.shape && !nullable) return Object.entries(def.shape).flatMap(([key, type]) => schemaKeys(type, [...prefix, key]));
  if (def.type === 'record' && def.valueType) {
    const inner = schemaKeys(def.valueType, [...prefix, '<name>']);
    if (!(inner.length === 1 && inner[0]?.path === [...prefix, '<name>'].join('.'))) return inner;
  }
  // Durations are strings or numbers transformed to ms; paths are strings transformed to absolute paths.
  const duration = transformed && (def.type === 'union' || typeof fallback === 'number');
  const parts = def.type === 'object' && def.shape ? Object.entries(def.shape).flatMap(([key, type]) => schemaKeys(type, [...prefix, key])).map((k) => k.path) : undefined;
  return [{ path: prefix.join('.'), ...(fallback !== undefined ? { default: fallback } : {}), duration, ...(parts ? { parts } : {}) }];
}
