import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig, type ResolvedConfig } from '../../src/config/index.js';

export const REPO = resolve(import.meta.dirname, '../..');

/** A config for tests: the sim VM handler, a private state dir, and `extra` deep-merged on top. */
export function testConfig(extra: Record<string, Record<string, unknown>> = {}, env: NodeJS.ProcessEnv = {}): ResolvedConfig {
  const dir = mkdtempSync(join(tmpdir(), 'amh-config-'));
  const base: Record<string, Record<string, unknown>> = {
    kafka: { brokers: ['127.0.0.1:9092'] },
    consumer: { concurrency: 4 },
    // The config's own ledger store (the default, ../var/ledgers, would be one directory shared by every test).
    runtime: { work_dir: join(dir, 'runs'), ledger_dir: join(dir, 'ledgers'), kill_grace: '2s' },
    logging: { level: 'silent' },
    // Many services run at once in tests: a free port each (Service.httpAddress says which).
    http: { port: 0 },
    handlers: {
      vm: {
        plugin: 'vm',
        playbooks: { location: join(REPO, 'playbooks/sim') },
        substrate: { state_dir: join(dir, 'sim') },
      },
    },
  };
  deepMerge(base, extra);
  const file = join(dir, 'amh.yaml');
  writeFileSync(file, stringify(base));
  return loadConfig({ path: file, env: { ...suiteSwitches(), ...env } });
}

/**
 * Switches that flip a default for the whole suite, read from the test process's environment:
 * `AMH_RUNTIME__WARM_RUNNER__ENABLED=false npx vitest run` runs every service built here without the warm runner (on by default).
 */
function suiteSwitches(): NodeJS.ProcessEnv {
  const warm = process.env.AMH_RUNTIME__WARM_RUNNER__ENABLED;
  return warm ? { AMH_RUNTIME__WARM_RUNNER__ENABLED: warm } : {};
}

export function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(from)) {
    const current = into[key];
    if (isPlain(value) && isPlain(current)) deepMerge(current, value);
    else into[key] = value;
  }
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
