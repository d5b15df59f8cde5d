import { existsSync } from 'node:fs';
import { OPERATIONS, type Operation } from '../codec/types.js';
import type { ResolvedConfig } from '../config/index.js';
import { BUILTIN_PLUGINS, HandlerRegistry, type AnyHandlerPlugin } from '../handlers/index.js';
import { loadCliConfig, type CommonOptions } from './common.js';

/** One resource type as `amh handlers` shows it. */
export interface HandlerListing {
  resourceType: string;
  /** Entry under `handlers:` in the config. */
  handler: string;
  plugin: string;
  operations: Operation[];
  /** Keyed as the plugin names them (its config path, e.g. `operation.delete`); absolute paths. */
  playbooks: { key: string; path: string; exists: boolean }[];
}

/**
 * Every routed resource type with its handler, the operations the handler
 * supports and the playbooks its settings point to. A handler's playbooks
 * keyed by another of its resource types (the network handler's `L2Bridge`
 * playbook, seen from L2PTP) are left out of that type's list.
 */
export function listHandlers(config: ResolvedConfig, plugins: readonly AnyHandlerPlugin[] = BUILTIN_PLUGINS): HandlerListing[] {
  const registry = HandlerRegistry.fromConfig(config, plugins);
  return registry.resourceTypes().map((resourceType) => {
    const handler = registry.resolve(resourceType);
    const others = new Set(handler.resourceTypes.filter((t) => t !== resourceType));
    const playbooks = Object.entries(handler.plugin.playbooks(handler.settings) as Record<string, string>)
      .filter(([key]) => !others.has(key))
      .map(([key, path]) => ({ key, path, exists: existsSync(path) }));
    return {
      resourceType,
      handler: handler.name,
      plugin: handler.plugin.name,
      operations: OPERATIONS.filter((op) => HandlerRegistry.supports(handler, op)),
      playbooks,
    };
  });
}

/** The listing for people: one block per resource type, MISSING next to absent playbooks, a summary line. */
export function formatListing(listing: readonly HandlerListing[]): string {
  const lines: string[] = [];
  for (const row of listing) {
    lines.push(`${row.resourceType}  (handler ${row.handler}, plugin ${row.plugin})`);
    lines.push(`  operations: ${row.operations.join(', ')}`);
    const width = Math.max(...row.playbooks.map((p) => p.key.length));
    for (const p of row.playbooks) lines.push(`  ${p.key.padEnd(width)}  ${p.path}${p.exists ? '' : '  MISSING'}`);
  }
  const missing = missingPlaybooks(listing);
  lines.push('', missing.length === 0 ? 'all playbooks are present' : `missing on disk: ${missing.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** Distinct absent playbook paths. */
export function missingPlaybooks(listing: readonly HandlerListing[]): string[] {
  return [...new Set(listing.flatMap((row) => row.playbooks.filter((p) => !p.exists).map((p) => p.path)))];
}

export interface HandlersOptions extends CommonOptions {
  json?: boolean;
  strict?: boolean;
}

/** `amh handlers`: what the configuration routes where; `--strict` exits 1 when a playbook is missing. */
export async function handlersCommand(opts: HandlersOptions): Promise<void> {
  const listing = listHandlers(loadCliConfig(opts));
  process.stdout.write(opts.json ? `${JSON.stringify(listing, null, 2)}\n` : formatListing(listing));
  if (opts.strict && missingPlaybooks(listing).length > 0) process.exitCode = 1;
}
