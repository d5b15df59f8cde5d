import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createPlaybookRunner, WarmPool, type PlaybookRunnerOptions, type WarmPoolOptions } from '../../src/ansible/index.js';
import type { PlaybookRunner } from '../../src/ansible/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { playbooksDir } from '../../src/paths.js';

/** The ansible-playbook chosen by test/helpers/ansible-global-setup.ts. */
export function ansiblePlaybook(): string {
  const path = process.env.AMH_ANSIBLE_PLAYBOOK ?? inject('ansiblePlaybook');
  if (!path) throw new Error('AMH_ANSIBLE_PLAYBOOK is not set: is ansible-global-setup.ts in globalSetup?');
  return path;
}

/**
 * A real runner with a private work dir. AMH_TEST_LOG=debug shows its log on stderr.
 * Its runs are forked from the file's shared warm pool, as the service's are by default;
 * AMH_RUNTIME__WARM_RUNNER__ENABLED=false (the switch the service reads too) spawns them,
 * so the suite can be run once each way.
 */
export async function testRunner(
  options: Partial<PlaybookRunnerOptions> = {},
): Promise<{ runner: PlaybookRunner; workDir: string }> {
  const workDir = await mkdtemp(join(tmpdir(), 'amh-runs-'));
  const logger = createLogger({ level: process.env.AMH_TEST_LOG ?? 'silent', destination: 2 });
  const warm = warmFromEnv() && !options.warm ? { warm: { pool: await sharedWarmPool(), default: true } } : {};
  const runner = createPlaybookRunner({ ansiblePlaybook: ansiblePlaybook(), workDir, logger, ...warm, ...options });
  return { runner, workDir };
}

/** Whether runs go warm, as the service's do: on unless `AMH_RUNTIME__WARM_RUNNER__ENABLED=false` turns it off for the suite. */
export function warmFromEnv(): boolean {
  return !/^(false|0|no)$/i.test(process.env.AMH_RUNTIME__WARM_RUNNER__ENABLED ?? '');
}

let shared: Promise<WarmPool> | undefined;

/** One warm pool per test file (a zygote costs about a second to start), ready before it is handed out. */
export function sharedWarmPool(): Promise<WarmPool> {
  shared ??= (async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'amh-warm-'));
    const logger = createLogger({ level: process.env.AMH_TEST_LOG ?? 'silent', destination: 2 });
    const pool = new WarmPool({ ansiblePlaybook: ansiblePlaybook(), workDir, playbooksDir: playbooksDir(), logger });
    await pool.whenReady(120_000);
    return pool;
  })();
  return shared;
}

/** A test file's own warm pool and two runners on it: `warm` forks every run from it, `bare` spawns every run. */
export interface WarmAndBare {
  scratch: string;
  pool: WarmPool;
  warm: PlaybookRunner;
  bare: PlaybookRunner;
  /** Stops the pool and removes `scratch`. */
  close(): Promise<void>;
}

/** Starts a private pool under a new scratch dir (`<tmp>/<prefix>*`); `beforeReady` sees it before it is ready (to listen for its events). */
export async function warmAndBare(
  prefix: string,
  options: Partial<WarmPoolOptions> = {},
  beforeReady: (pool: WarmPool) => void = () => undefined,
): Promise<WarmAndBare> {
  const scratch = await mkdtemp(join(tmpdir(), prefix));
  const pool = new WarmPool({ ansiblePlaybook: ansiblePlaybook(), workDir: join(scratch, 'pool'), playbooksDir: playbooksDir(), ...options });
  beforeReady(pool);
  await pool.whenReady(120_000);
  return {
    scratch,
    pool,
    warm: (await testRunner({ warm: { pool, default: true } })).runner,
    bare: (await testRunner({ warm: { pool, default: false } })).runner,
    close: async () => {
      await pool.stop();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** Pids of live processes whose command line contains `marker` (zombies have none). */
export function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Polls until `probe` is true (or throws after `ms`). */
export async function waitFor(probe: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
