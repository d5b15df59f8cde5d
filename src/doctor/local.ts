import { statSync } from 'node:fs';
import { SchemaCatalog } from '../codec/index.js';
import type { ResolvedConfig } from '../config/index.js';
import { errorMessage } from '../errors/index.js';
import { BUILTIN_PLUGINS, HandlerRegistry, type AnyHandlerPlugin } from '../handlers/index.js';
import { fail, pass, type CheckResult } from './types.js';

/** Every configured handler with its settings: a config that loads but whose plugin settings are wrong is not valid. */
export function checkConfig(config: ResolvedConfig, plugins: readonly AnyHandlerPlugin[] = BUILTIN_PLUGINS): { result: CheckResult; registry: HandlerRegistry | null } {
  try {
    const registry = HandlerRegistry.fromConfig(config, plugins);
    const handlers = registry.handlers().length;
    const types = registry.resourceTypes().length;
    return { result: pass('config', 'config valid', `${config.source} (${handlers} handlers, ${types} resource types)`), registry };
  } catch (err) {
    return { result: fail('config', 'config valid', errorMessage(err)), registry: null };
  }
}

export function checkSchemas(dir?: string): CheckResult {
  try {
    const catalog = dir ? SchemaCatalog.load(dir) : SchemaCatalog.load();
    const versions = (['event', 'result', 'state'] as const).map((k) => `${k} v${catalog.versions(k).map((v) => v.version).join(',v')}`);
    return pass('schemas', 'schemas load', versions.join('; '));
  } catch (err) {
    return fail('schemas', 'schemas load', errorMessage(err));
  }
}

/** One line per handler: every playbook its settings name, and its inventory when one is set, are files on disk. */
export function checkHandlerFiles(registry: HandlerRegistry): CheckResult[] {
  return registry.handlers().map((handler) => {
    const id = `handler:${handler.name}`;
    const title = `handler ${handler.name}: playbooks and inventory present`;
    const playbooks = Object.entries(handler.plugin.playbooks(handler.settings) as Record<string, string>);
    const missing = playbooks.filter(([, path]) => !isFile(path)).map(([key, path]) => `${path} (handlers.${handler.name}.playbooks.${key})`);
    const inventory = handler.plugin.inventory?.(handler.settings) ?? null;
    if (inventory !== null && !exists(inventory)) missing.push(`inventory ${inventory} (handlers.${handler.name}.playbooks.inventory_location)`);
    if (missing.length > 0) return fail(id, title, `missing: ${[...new Set(missing)].join(', ')}`);
    const files = new Set(playbooks.map(([, p]) => p)).size;
    return pass(id, title, `${files} playbook files${inventory ? `, inventory ${inventory}` : ', generated localhost inventory'}`);
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** An inventory may be a file or a directory of them. */
function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
