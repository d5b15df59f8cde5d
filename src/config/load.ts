import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors/index.js';
import { applyEnvOverrides } from './env.js';
import { parseOrThrow } from './issues.js';
import { configSchema, type ParsedConfig } from './schema.js';
import { resolveKafkaSecurity, type ResolvedSasl, type ResolvedSsl } from './security.js';

export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../config/amh.yaml', import.meta.url));

/** `kafka` with its security resolved: absolute paths, secrets read (README "Security"). */
export type ResolvedKafkaConfig = Omit<ParsedConfig['kafka'], 'ssl' | 'sasl'> & { ssl: ResolvedSsl | null; sasl: ResolvedSasl | null };

/** The validated configuration plus where it came from (for resolving relative paths). */
export interface ResolvedConfig extends Omit<ParsedConfig, 'kafka'> {
  kafka: ResolvedKafkaConfig;
  /** Absolute path of the file read. */
  source: string;
  /** Resolve a path from the file relative to the file's folder. */
  resolvePath(path: string): string;
  /** Config paths set from the environment -> the variable (named in later validation errors, e.g. plugin settings). */
  envOrigins: ReadonlyMap<string, string>;
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
  const envOrigins = applyEnvOverrides(raw, env, configSchema);
  options.overrides?.(raw);
  const parsed = parseOrThrow(configSchema, raw, source, [], envOrigins);
  const dir = dirname(source);
  const resolvePath = (p: string): string => (isAbsolute(p) ? p : resolve(dir, p));
  const security = resolveKafkaSecurity(parsed.kafka, source, { resolvePath, env });
  return {
    ...parsed,
    kafka: { ...parsed.kafka, ...security },
    source,
    envOrigins,
    resolvePath,
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
