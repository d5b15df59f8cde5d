import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors/index.js';

/**
 * Environment overrides. Two kinds, applied over the file in this order:
 *
 * 1. The short names kept from earlier releases ({@link LEGACY_ENV}).
 * 2. The generic rule: `AMH_` + the config path in capitals with `__` between
 *    levels (a single `_` stays inside a key). `AMH_KAFKA__GROUP_ID` sets
 *    `kafka.group_id`, `AMH_KAFKA__SASL__USERNAME` sets `kafka.sasl.username`,
 *    `AMH_HANDLERS__VM__PLAYBOOKS__LOCATION` sets `handlers.vm.playbooks.location`.
 *    Any key the schema gains is covered without more code.
 *
 * A generic name that is not a config path is an error (a typo must not be
 * ignored). Values are converted by the schema's type at that path: numbers,
 * `true`/`false`, `null` where the key takes null, lists comma-separated;
 * where the schema says nothing (plugin settings under `handlers.<name>`), the
 * value is read as a YAML scalar. An empty variable is ignored.
 */
export const LEGACY_ENV: Readonly<Record<string, readonly string[]>> = {
  AMH_KAFKA_BROKERS: ['kafka', 'brokers'],
  AMH_GROUP_ID: ['kafka', 'group_id'],
  AMH_SCHEMA_REGISTRY_URL: ['kafka', 'schema_registry', 'url'],
  AMH_LOG_LEVEL: ['logging', 'level'],
  AMH_LOG_FORMAT: ['logging', 'format'],
  AMH_ANSIBLE_PLAYBOOK: ['runtime', 'ansible_playbook'],
};

/** `AMH_<SECTION>__<KEY>...`: at least one `__`, upper-case letters, digits and `_`. */
const GENERIC = /^AMH_([A-Z0-9]+(?:_[A-Z0-9]+)*)((?:__[A-Z0-9]+(?:_[A-Z0-9]+)*)+)$/;

/** Dotted config path -> the environment variable that set it (to name it in error messages). */
export type EnvOrigins = Map<string, string>;

/** The env name for a config path under the generic rule (`kafka.sasl.username` -> `AMH_KAFKA__SASL__USERNAME`). */
export function envNameFor(path: readonly string[]): string {
  return `AMH_${path.map((p) => p.toUpperCase()).join('__')}`;
}

/** Apply every override in `env` to `raw` (the parsed YAML), returning which path each variable set. */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, schema: z.ZodType): EnvOrigins {
  const origins: EnvOrigins = new Map();
  const set = (name: string, segments: readonly string[], value: string): void => {
    const { path, leaf } = resolvePath(raw, schema, name, segments);
    assign(raw, path, convert(name, path, value, leaf));
    origins.set(path.join('.'), name);
  };
  for (const [name, segments] of Object.entries(LEGACY_ENV)) {
    const value = env[name];
    if (value) set(name, segments, value);
  }
  for (const name of Object.keys(env).sort()) {
    const match = GENERIC.exec(name);
    const value = env[name];
    if (!match || !value) continue;
    set(name, [match[1] as string, ...(match[2] as string).slice(2).split('__')].map((s) => s.toLowerCase()), value);
  }
  return origins;
}

interface Leaf {
  /** The unwrapped zod type at the path, or null where the schema does not describe it. */
  type: z.core.$ZodType | null;
  nullable: boolean;
}

/** Match each segment to a schema key (case-insensitively: `timeouts.REDEEM`), or to an existing key of the file. */
function resolvePath(raw: Record<string, unknown>, schema: z.ZodType, name: string, segments: readonly string[]): { path: string[]; leaf: Leaf } {
  const path: string[] = [];
  let type: z.core.$ZodType | null = schema as unknown as z.core.$ZodType;
  let nullable = false;
  let node: unknown = raw;
  for (const segment of segments) {
    const existing = isRecord(node) ? Object.keys(node).find((k) => k.toLowerCase() === segment) : undefined;
    let key = existing ?? segment;
    if (type) {
      const unwrapped = unwrap(type);
      const def = unwrapped.type._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; valueType?: z.core.$ZodType; catchall?: z.core.$ZodType };
      if (def.type === 'object') {
        const shape = def.shape ?? {};
        const known = Object.keys(shape).find((k) => k.toLowerCase() === segment);
        const loose = def.catchall !== undefined && def.catchall._zod.def.type !== 'never';
        if (known) {
          key = known;
          type = shape[known] as z.core.$ZodType;
        } else if (loose) {
          type = null; // a plugin's own keys: validated by the plugin
        } else {
          const at = path.length > 0 ? `\`${path.join('.')}\` has` : 'the top level has';
          throw new ConfigError(`${name}: no config key \`${[...path, segment].join('.')}\` (${at} ${Object.keys(shape).map((k) => `\`${k}\``).join(', ')})`);
        }
      } else if (def.type === 'record') {
        type = def.valueType ?? null;
      } else {
        throw new ConfigError(`${name}: \`${path.join('.')}\` takes a single value, it has no key \`${segment}\``);
      }
    }
    path.push(key);
    node = isRecord(node) ? node[key] : undefined;
  }
  if (type) {
    const unwrapped = unwrap(type);
    ({ nullable } = unwrapped);
    type = unwrapped.type;
  }
  return { path, leaf: { type, nullable } };
}

/** Strip defaults, optionals, nullables and pipes down to the type that decides how a string is read. */
function unwrap(type: z.core.$ZodType): { type: z.core.$ZodType; nullable: boolean } {
  let current = type;
  let nullable = false;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    if (def.type === 'nullable') nullable = true;
    if (['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return { type: current, nullable };
  }
}

function convert(name: string, path: readonly string[], value: string, leaf: Leaf): unknown {
  const trimmed = value.trim();
  if (leaf.nullable && trimmed === 'null') return null;
  if (!leaf.type) return parseYaml(value) as unknown;
  const def = leaf.type._zod.def as { type: string; element?: z.core.$ZodType; options?: z.core.$ZodType[] };
  switch (def.type) {
    case 'object':
    case 'record':
      throw new ConfigError(`${name}: \`${path.join('.')}\` is a section; set its keys one by one (${envNameFor([...path, '<key>'])})`);
    case 'array':
      return trimmed
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
        .map((item) => convert(name, path, item, { type: def.element ? unwrap(def.element).type : null, nullable: false }));
    case 'number':
      // Not a number: left as text, so validation reports it with the path and this variable's name.
      return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : value;
    case 'boolean':
      return trimmed === 'true' ? true : trimmed === 'false' ? false : value;
    case 'union': {
      const kinds = (def.options ?? []).map((o) => unwrap(o).type._zod.def.type);
      if (kinds.includes('number') && /^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
      return value;
    }
    default:
      return value;
  }
}

function assign(raw: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = raw;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (isRecord(next)) node = next;
    else node = node[key] = {};
  }
  node[path[path.length - 1] as string] = value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The variable that set `path` or a section containing it, for error messages. */
export function envOriginOf(origins: ReadonlyMap<string, string> | undefined, path: string): string | undefined {
  if (!origins || origins.size === 0) return undefined;
  const exact = origins.get(path);
  if (exact) return exact;
  for (const [p, name] of origins) if (path.startsWith(`${p}.`)) return name;
  return undefined;
}
