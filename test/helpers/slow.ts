import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ResolvedConfig } from '../../src/config/index.js';
import { BUILTIN_PLUGINS } from '../../src/handlers/index.js';
import { slowPlugin } from '../fixtures/plugins/slow-plugin.mjs';

/** The built-in plugins plus the `Slow` test plugin. */
export const PLUGINS_WITH_SLOW = [...BUILTIN_PLUGINS, slowPlugin];

/** Config sections that register the slow handler with its state dir in the test's own folder. */
export function slowHandler(stateDir: string, extra: Record<string, unknown> = {}): Record<string, Record<string, unknown>> {
  return { handlers: { slow: { plugin: 'slow', state_dir: stateDir, delay: 1, ...extra } } };
}

/** An event for the slow handler; `delay` seconds of playbook time. */
export function slowEvent(sliverId: string, operation: string, sequence: number, delay = 1): Record<string, unknown> {
  return {
    event_id: randomUUID(),
    operation,
    sliver_id: sliverId,
    slice_id: 'slice-slow',
    resource_type: 'Slow',
    sequence,
    timestamp: Date.now(),
    node_sliver: { name: 'item', labels: { delay: String(delay) } },
  };
}

/** Lines of a log the slow playbook appends to (effects.log: one line per real creation). */
export function slowLog(stateDir: string, name: 'effects.log' | 'order.log'): string[] {
  const file = join(stateDir, name);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** Slivers whose item exists now. */
export function slowItems(stateDir: string): string[] {
  const dir = join(stateDir, 'items');
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')).sort() : [];
}

/** Processes whose command line mentions `marker` (a test's private folder): ansible-playbook runs and their children. */
export function processesMentioning(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', marker], { encoding: 'utf8' }).split('\n').filter((l) => l && !l.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** The folder testConfig() made for this config: holds runs/, sim/ and the config file. */
export function testRoot(config: ResolvedConfig): string {
  return dirname(config.source);
}
