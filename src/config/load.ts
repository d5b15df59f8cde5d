import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors/index.js';
import { parseOrThrow } from './issues.js';
import { configSchema, type ParsedConfig } from './schema.js';

export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../config/amh.yaml', import.meta.url));

/** The validated configuration plus where it came from (for resolving relative paths). */
export interface ResolvedConfig extends ParsedConfig {
  /** Absolute path of the file read. */
  source: string;
  /** Resolve a path from the file relative to the file's folder. */
  resolvePath(path: string): string;
}

export interface LoadOptions {
  /** Config file; default env `AMH_CONFIG`, then `config/amh.yaml` of the package. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  /** Applied after the file and the environment (e.g. CLI flags), as raw values. */
  overrides?: (raw: Record<string, unknown>) => void;
}

/**
 * Three stages: what the user wrote (YAML + environment) -> with defaults ->
 * resolved. Fails with a ConfigError naming each bad path.
 */
export function loadConfig(options: LoadOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const source = resolve(options.path ?? env.AMH_CONFIG ?? DEFAULT_CONFIG_PATH);
  const raw = readYaml(source);
  applyEnv(raw, env);
  options.overrides?.(raw);
  const parsed = parseOrThrow(configSchema, raw, source);
  const dir = dirname(source);
  return {
    ...parsed,
    source,
    resolvePath: (p: string) => (isAbsolute(p) ? p : resolve(dir, p)),
  };
}

function readYaml(source: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${source}: ${(err as Error).message}`, { cause: err });
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`config file ${source} is not valid YAML:\n  ${doc.errors.map((e) => e.message).join('\n  ')}`);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`config file ${source}: \`(root)\`: expected a mapping of sections, got ${typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** Environment variables that override the file (documented in the README). */
function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const section = (name: string): Record<string, unknown> => {
    const existing = raw[name];
    if (existing && typeof existing === 'object' && !Array.isArray(existing)) return existing as Record<string, unknown>;
    const created: Record<string, unknown> = {};
    raw[name] = created;
    return created;
  };
  if (env.AMH_KAFKA_BROKERS) section('kafka').brokers = env.AMH_KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean);
  if (env.AMH_GROUP_ID) section('kafka').group_id = env.AMH_GROUP_ID;
  if (env.AMH_SCHEMA_REGISTRY_URL) section('kafka').schema_registry = { url: env.AMH_SCHEMA_REGISTRY_URL };
  if (env.AMH_LOG_LEVEL) section('logging').level = env.AMH_LOG_LEVEL;
  if (env.AMH_LOG_FORMAT) section('logging').format = env.AMH_LOG_FORMAT;
  if (env.AMH_ANSIBLE_PLAYBOOK) section('runtime').ansible_playbook = env.AMH_ANSIBLE_PLAYBOOK;
}
