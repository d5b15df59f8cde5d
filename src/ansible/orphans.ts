import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';
import { signalGroup } from './process-group.js';

const OWNER_FILE = 'owner.json';

/** Written into a run directory once ansible-playbook started: who to ask, which group to kill. */
export async function recordOwner(runDir: string, pgid: number): Promise<void> {
  await writeFile(join(runDir, OWNER_FILE), JSON.stringify({ ownerPid: process.pid, pgid }));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * After a crash (kill -9), the playbooks of the dead process keep running in
 * their own process groups. Kill those groups and remove their run
 * directories, so a restarted instance re-runs the work alone.
 */
export async function reapOrphanRuns(workDir: string, logger: Logger): Promise<number> {
  let entries: string[];
  try {
    entries = (await readdir(workDir)).filter((e) => e.startsWith('run-'));
  } catch {
    return 0; // no work dir yet: nothing ran
  }
  let reaped = 0;
  for (const entry of entries) {
    const dir = join(workDir, entry);
    let owner: { ownerPid: number; pgid: number };
    try {
      owner = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as typeof owner;
    } catch {
      continue; // still being prepared by a live process, or not ours
    }
    if (alive(owner.ownerPid)) continue;
    const killed = signalGroup(owner.pgid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
    reaped++;
    logger.warn({ runDir: dir, pgid: owner.pgid, killed }, 'reaped a playbook run left behind by a dead amh process');
  }
  return reaped;
}
