import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createPlaybookRunner, type PlaybookRunnerOptions } from '../../src/ansible/index.js';
import type { PlaybookRunner } from '../../src/ansible/types.js';
import { createLogger } from '../../src/observability/logger.js';

/** The ansible-playbook chosen by test/helpers/ansible-global-setup.ts. */
export function ansiblePlaybook(): string {
  const path = process.env.AMH_ANSIBLE_PLAYBOOK ?? inject('ansiblePlaybook');
  if (!path) throw new Error('AMH_ANSIBLE_PLAYBOOK is not set: is ansible-global-setup.ts in globalSetup?');
  return path;
}

/** A real runner with a private work dir. AMH_TEST_LOG=debug shows its log on stderr. */
export async function testRunner(
  options: Partial<PlaybookRunnerOptions> = {},
): Promise<{ runner: PlaybookRunner; workDir: string }> {
  const workDir = await mkdtemp(join(tmpdir(), 'amh-runs-'));
  const logger = createLogger({ level: process.env.AMH_TEST_LOG ?? 'silent', destination: 2 });
  const runner = createPlaybookRunner({ ansiblePlaybook: ansiblePlaybook(), workDir, logger, ...options });
  return { runner, workDir };
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
