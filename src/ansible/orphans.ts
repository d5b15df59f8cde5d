import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';
import { groupExists, signalGroup } from './process-group.js';
import { currentBootId, listProcesses, readProcStat, selfIdentity } from './proc.js';

const OWNER_FILE = 'owner.json';

/**
 * owner.json: which amh process started the run, and which process group
 * (ansible-playbook's own pid) runs it. Earlier versions wrote only
 * `ownerPid` and `pgid`, and so does this one where /proc is missing; the
 * other fields make a pid unambiguous (see proc.ts). Old readers ignore them.
 */
export interface OwnerRecord {
  ownerPid: number;
  pgid: number;
  /** /proc/sys/kernel/random/boot_id when the run started. */
  bootId?: string;
  /** Start time (ticks after boot) of the owner. */
  ownerStart?: number;
  /** Start time of ansible-playbook, the group's leader; absent if it exited before it was recorded. */
  leaderStart?: number;
}

/** Written into a run directory once ansible-playbook started: who to ask, which group to kill. */
export async function recordOwner(runDir: string, pgid: number): Promise<void> {
  const record: OwnerRecord = { ownerPid: process.pid, pgid };
  const self = await selfIdentity();
  if (self) {
    record.ownerStart = self.startTime;
    record.bootId = self.bootId;
    const leader = await readProcStat(pgid);
    if (leader) record.leaderStart = leader.startTime;
  }
  // Renamed into place: a crash mid-write leaves no half a record behind.
  const file = join(runDir, OWNER_FILE);
  await writeFile(`${file}.tmp`, JSON.stringify(record));
  await rename(`${file}.tmp`, file);
}

/**
 * After a crash (kill -9), the playbooks of the dead process keep running in
 * their own process groups. Kill those groups and remove their run
 * directories, so a restarted instance re-runs the work alone. Returns how
 * many run directories were cleaned up. A run directory that cannot be read,
 * signalled or removed is logged and skipped: start-up goes on.
 */
export async function reapOrphanRuns(workDir: string, logger: Logger): Promise<number> {
  let entries: string[];
  try {
    entries = (await readdir(workDir)).filter((e) => e.startsWith('run-'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ err, workDir }, 'cannot list the work dir for orphaned playbook runs');
    return 0; // ENOENT: no work dir yet, nothing ran
  }
  const bootId = await currentBootId().catch(() => undefined);
  let reaped = 0;
  for (const entry of entries) {
    const runDir = join(workDir, entry);
    try {
      if (await reapRun(runDir, bootId, logger)) reaped++;
    } catch (err) {
      logger.warn({ err, runDir }, 'cannot reap a playbook run directory; skipped');
    }
  }
  return reaped;
}

/** True when the run directory was removed. */
async function reapRun(runDir: string, bootId: string | undefined, logger: Logger): Promise<boolean> {
  const owner = await readOwner(runDir);
  if (owner === undefined) return false; // still being prepared by a live process, or not ours
  if (bootId === undefined) return reapWithoutProc(runDir, owner, logger);

  if (owner.bootId !== undefined && owner.bootId !== bootId) {
    // Nothing of an earlier boot still runs; a process with the recorded pgid now is unrelated.
    await rm(runDir, { recursive: true, force: true });
    logger.info({ runDir }, 'removed a playbook run directory left from before a reboot');
    return true;
  }
  if (await ownerAlive(owner)) return false;

  if (owner.leaderStart === undefined) {
    // No start time to tell our group from a later one that reused the pgid:
    // never signal it. Once the group is gone the directory goes too.
    if (groupExists(owner.pgid)) {
      logger.warn(
        { runDir, pgid: owner.pgid },
        'dead amh process left a playbook run, but its owner.json has no start times: process group left alone (kill it by hand if it is this run)',
      );
      return false;
    }
  } else {
    const killed = await killOrphanGroup(owner.pgid, owner.leaderStart);
    logger.warn({ runDir, pgid: owner.pgid, killed }, 'reaped a playbook run left behind by a dead amh process');
  }
  await rm(runDir, { recursive: true, force: true });
  return true;
}

async function readOwner(runDir: string): Promise<OwnerRecord | undefined> {
  let text: string;
  try {
    text = await readFile(join(runDir, OWNER_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const o = JSON.parse(text) as Partial<Record<keyof OwnerRecord, unknown>>;
  const pid = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 1;
  // pgid 0 or 1 would make kill(-pgid) hit our own group or every process.
  if (!pid(o.ownerPid) || !pid(o.pgid)) throw new Error(`${OWNER_FILE}: expected process ids ownerPid and pgid, got ${text}`);
  const record: OwnerRecord = { ownerPid: o.ownerPid, pgid: o.pgid };
  if (typeof o.bootId === 'string') record.bootId = o.bootId;
  if (Number.isSafeInteger(o.ownerStart)) record.ownerStart = o.ownerStart as number;
  if (Number.isSafeInteger(o.leaderStart)) record.leaderStart = o.leaderStart as number;
  return record;
}

/** Alive = a process with the owner's pid and start time exists on this boot (the caller checked the boot). */
async function ownerAlive(owner: OwnerRecord): Promise<boolean> {
  if (owner.ownerStart === undefined) {
    // An old-format record naming our own pid comes from an earlier process
    // (we record start times): PID 1 of a restarted container. Any other pid
    // that answers may be the owner, so its run is left alone.
    return owner.ownerPid !== process.pid && pidAnswers(owner.ownerPid);
  }
  const stat = await readProcStat(owner.ownerPid);
  return stat !== undefined && stat.startTime === owner.ownerStart;
}

/**
 * Kill what is left of the run's process group, and only that. The kernel
 * never hands out a pid still in use as a process group id, so:
 * - the leader (pid == pgid) exists with its recorded start time: the group is ours, kill it whole;
 * - a process with that pid but another start time exists: the pid was free
 *   again, so nothing of our group is left; whatever group it leads is not ours;
 * - no process with that pid: kill the group's members that started at or
 *   after the leader (an older process cannot have been forked by it).
 * Returns how many processes were signalled ('group' for a whole group).
 */
async function killOrphanGroup(pgid: number, leaderStart: number): Promise<number | 'group'> {
  const leader = await readProcStat(pgid);
  if (leader) {
    if (leader.startTime !== leaderStart) return 0;
    signalGroup(pgid, 'SIGKILL');
    return 'group';
  }
  if (!groupExists(pgid)) return 0;
  let killed = 0;
  for (const p of await listProcesses()) {
    if (p.pgrp !== pgid || p.startTime < leaderStart) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
      killed++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // exited meanwhile
    }
  }
  return killed;
}

/**
 * Without /proc (not Linux) a pid is all there is: the behaviour of earlier
 * versions, which may kill a group whose pgid was reused, and keeps a run
 * whose owner's pid was reused (or is our own, as PID 1 of a container).
 */
async function reapWithoutProc(runDir: string, owner: OwnerRecord, logger: Logger): Promise<boolean> {
  if (pidAnswers(owner.ownerPid)) return false;
  const killed = signalGroup(owner.pgid, 'SIGKILL');
  logger.warn({ runDir, pgid: owner.pgid, killed }, 'reaped a playbook run left behind by a dead amh process');
  await rm(runDir, { recursive: true, force: true });
  return true;
}

function pidAnswers(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
