import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** A `sleep` leading its own process group (pid == pgid), like ansible-playbook under the runner. */
export interface SleepingGroup {
  child: ChildProcess;
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot. */
  startTime: number;
  exited: Promise<NodeJS.Signals | null>;
  isRunning(): boolean;
  kill(): Promise<void>;
}

export async function startSleepingGroup(seconds = 60): Promise<SleepingGroup> {
  const child = spawn('sleep', [String(seconds)], { detached: true, stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('sleep did not start');
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  return {
    child,
    pid,
    startTime: procStartTime(pid),
    exited,
    isRunning: () => child.exitCode === null && child.signalCode === null,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The identity of a process that existed and is gone now (we reaped it, so its pid is free). */
export async function deadProcess(): Promise<{ pid: number; startTime: number }> {
  const group = await startSleepingGroup();
  await group.kill();
  return { pid: group.pid, startTime: group.startTime };
}

export function procStartTime(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

export function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** A fresh work dir, as `runtime.work_dir`. */
export function tempWorkDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'amh-orphans-'));
}

/** A `run-*` directory holding `owner` as its owner.json (any shape: old versions wrote fewer fields). */
export async function writeRunDir(workDir: string, name: string, owner: Record<string, unknown>): Promise<string> {
  const dir = join(workDir, `run-${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'owner.json'), JSON.stringify(owner));
  await writeFile(join(dir, 'extravars.yml'), '{}\n');
  return dir;
}

/**
 * Make `dir` impossible to empty, and return the undo. chmod is enough for
 * an ordinary user; root ignores modes, so there the directory is made
 * immutable (chattr +i) instead.
 */
export async function makeUnremovable(dir: string): Promise<() => Promise<void>> {
  if (process.getuid?.() === 0) {
    execFileSync('chattr', ['+i', dir]);
    return async () => {
      execFileSync('chattr', ['-i', dir]);
    };
  }
  await chmod(dir, 0o500);
  return () => chmod(dir, 0o700);
}

/** A pino logger whose lines a test can read back. */
export function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines: () => lines };
}

/** Live pids whose process group is `pgid`, straight from /proc. */
export function pidsInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') pids.push(Number(name)); // a zombie is dead, just not collected yet
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Poll until `condition` holds (5 s at most). */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition.toString()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
