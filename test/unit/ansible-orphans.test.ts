import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { reapOrphanRuns, recordOwner } from '../../src/ansible/orphans.js';
import { parseProcStat } from '../../src/ansible/proc.js';
import { silentLogger } from '../../src/observability/logger.js';
import {
  bootId,
  capturingLogger,
  deadProcess,
  pidsInGroup,
  makeUnremovable,
  procStartTime,
  startSleepingGroup,
  tempWorkDir,
  writeRunDir,
  type SleepingGroup,
  until,
} from '../helpers/process-groups.js';

// Real processes and real directories: a run dir's owner.json names the amh
// process that started a playbook and the playbook's process group, and the
// reaper must kill exactly the groups of dead owners, nothing else.
describe('reapOrphanRuns', () => {
  const groups: SleepingGroup[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const sleeping = async (): Promise<SleepingGroup> => {
    const g = await startSleepingGroup();
    groups.push(g);
    return g;
  };
  const workDir = async (): Promise<string> => {
    const dir = await tempWorkDir();
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  };
  afterEach(async () => {
    for (const g of groups.splice(0)) await g.kill();
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const boot = bootId();
  const self = { pid: process.pid, startTime: procStartTime(process.pid) };
  const owner = (o: { pid: number; startTime: number }, leader: { pid: number; startTime: number }) => ({
    ownerPid: o.pid,
    ownerStart: o.startTime,
    bootId: boot,
    pgid: leader.pid,
    leaderStart: leader.startTime,
  });

  it('kills the process group of a dead owner and removes its run directory', async () => {
    const work = await workDir();
    const orphan = await sleeping();
    const dir = await writeRunDir(work, 'orphan', owner(await deadProcess(), orphan));

    expect(await reapOrphanRuns(work, silentLogger())).toBe(1);
    expect(await orphan.exited).toBe('SIGKILL');
    expect(existsSync(dir)).toBe(false);
  });

  it('kills the members left in the group when its leader is already gone', async () => {
    const work = await workDir();
    // sh leads the group and forks two sleeps into it; then only sh dies, as ansible-playbook could.
    const leader = spawn('sh', ['-c', 'sleep 60 & sleep 60 & wait'], { detached: true, stdio: 'ignore' });
    const exited = new Promise((r) => leader.once('exit', r));
    const pgid = leader.pid ?? 0;
    const leaderStart = procStartTime(pgid);
    await until(() => pidsInGroup(pgid).length === 3);
    leader.kill('SIGKILL');
    await exited;
    expect(pidsInGroup(pgid)).toHaveLength(2);
    await writeRunDir(work, 'headless', owner(await deadProcess(), { pid: pgid, startTime: leaderStart }));

    expect(await reapOrphanRuns(work, silentLogger())).toBe(1);
    await until(() => pidsInGroup(pgid).length === 0);
  });

  it('leaves a run alone while its owner is alive with the recorded start time', async () => {
    const work = await workDir();
    const liveOwner = await sleeping();
    const running = await sleeping();
    const dir = await writeRunDir(work, 'live', owner(liveOwner, running));

    expect(await reapOrphanRuns(work, silentLogger())).toBe(0);
    expect(running.isRunning()).toBe(true);
    expect(existsSync(dir)).toBe(true);
  });

  it('leaves this very process runs alone (several services in one process share a work dir)', async () => {
    const work = await workDir();
    const running = await sleeping();
    const dir = await writeRunDir(work, 'mine', owner(self, running));

    expect(await reapOrphanRuns(work, silentLogger())).toBe(0);
    expect(running.isRunning()).toBe(true);
    expect(existsSync(dir)).toBe(true);
  });

  it('does not signal a recorded pgid that now leads an unrelated group (different start time)', async () => {
    const work = await workDir();
    const unrelated = await sleeping();
    const dir = await writeRunDir(work, 'reused', owner(await deadProcess(), { pid: unrelated.pid, startTime: unrelated.startTime - 1 }));

    await reapOrphanRuns(work, silentLogger());
    await new Promise((r) => setTimeout(r, 100));
    expect(unrelated.isRunning()).toBe(true);
    expect(existsSync(dir)).toBe(false); // the recorded run is gone: nothing left to wait for
  });

  it('treats an owner pid now used by an unrelated process as dead', async () => {
    const work = await workDir();
    const reusedOwnerPid = await sleeping();
    const orphan = await sleeping();
    await writeRunDir(work, 'owner-reused', owner({ pid: reusedOwnerPid.pid, startTime: reusedOwnerPid.startTime - 1 }, orphan));

    expect(await reapOrphanRuns(work, silentLogger())).toBe(1);
    expect(await orphan.exited).toBe('SIGKILL');
    expect(reusedOwnerPid.isRunning()).toBe(true);
  });

  it('reaps a run whose owner had this process pid but another start time (PID 1 in a restarted container)', async () => {
    const work = await workDir();
    const orphan = await sleeping();
    const dir = await writeRunDir(work, 'pid1', owner({ pid: process.pid, startTime: self.startTime - 1 }, orphan));

    expect(await reapOrphanRuns(work, silentLogger())).toBe(1);
    expect(await orphan.exited).toBe('SIGKILL');
    expect(existsSync(dir)).toBe(false);
  });

  it('after a reboot removes the run directory without signalling the recorded group', async () => {
    const work = await workDir();
    const unrelated = await sleeping();
    const dir = await writeRunDir(work, 'rebooted', { ...owner(await deadProcess(), unrelated), bootId: 'another-boot' });

    await reapOrphanRuns(work, silentLogger());
    await new Promise((r) => setTimeout(r, 100));
    expect(unrelated.isRunning()).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });

  it('logs a run directory it cannot remove and goes on with the others', async () => {
    const work = await workDir();
    const first = await sleeping();
    const second = await sleeping();
    const stuck = await writeRunDir(work, 'a-stuck', owner(await deadProcess(), first));
    cleanups.push(await makeUnremovable(stuck));
    const other = await writeRunDir(work, 'b-other', owner(await deadProcess(), second));
    const { logger, lines } = capturingLogger();

    await expect(reapOrphanRuns(work, logger)).resolves.toBe(1);
    expect(await first.exited).toBe('SIGKILL'); // the group still dies: only the directory stays
    expect(await second.exited).toBe('SIGKILL');
    expect(existsSync(other)).toBe(false);
    expect(lines().some((l) => l.runDir === stuck && l.level === 40)).toBe(true);
  });

  it('logs an unreadable owner.json and goes on', async () => {
    const work = await workDir();
    const orphan = await sleeping();
    const broken = await writeRunDir(work, 'a-broken', {});
    await import('node:fs/promises').then((fs) => fs.writeFile(join(broken, 'owner.json'), '{"ownerPid": 1, '));
    await writeRunDir(work, 'b-orphan', owner(await deadProcess(), orphan));
    const { logger, lines } = capturingLogger();

    expect(await reapOrphanRuns(work, logger)).toBe(1);
    expect(await orphan.exited).toBe('SIGKILL');
    expect(lines().some((l) => l.runDir === broken && l.level === 40)).toBe(true);
  });

  it('does not signal the group of an old-format owner.json (no start times) while processes remain in it', async () => {
    const work = await workDir();
    const maybeUnrelated = await sleeping();
    const dir = await writeRunDir(work, 'old', { ownerPid: (await deadProcess()).pid, pgid: maybeUnrelated.pid });
    const { logger, lines } = capturingLogger();

    expect(await reapOrphanRuns(work, logger)).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(maybeUnrelated.isRunning()).toBe(true);
    expect(existsSync(dir)).toBe(true); // looked at again on the next start-up
    expect(lines().some((l) => l.runDir === dir && l.level === 40)).toBe(true);
  });

  it('removes an old-format run directory whose group is gone', async () => {
    const work = await workDir();
    const dir = await writeRunDir(work, 'old-gone', { ownerPid: (await deadProcess()).pid, pgid: (await deadProcess()).pid });

    expect(await reapOrphanRuns(work, silentLogger())).toBe(1);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('recordOwner', () => {
  it('records who owns the run and which group it is, with start times and the boot id', async () => {
    const work = await tempWorkDir();
    const leader = await startSleepingGroup();
    try {
      await recordOwner(work, leader.pid);
      const written = JSON.parse(await readFile(join(work, 'owner.json'), 'utf8')) as Record<string, unknown>;
      expect(written).toEqual({
        ownerPid: process.pid,
        ownerStart: procStartTime(process.pid),
        bootId: bootId(),
        pgid: leader.pid,
        leaderStart: leader.startTime,
      });
    } finally {
      await leader.kill();
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe('parseProcStat', () => {
  it('reads pgrp and start time after a command name holding spaces and parentheses', () => {
    const fields = ['S', '1', '4242', ...Array.from({ length: 16 }, () => '0'), '123456', '0'];
    expect(parseProcStat(`4243 (a) b (c) ${fields.join(' ')}`)).toEqual({ pid: 4243, pgrp: 4242, startTime: 123456 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });
});
