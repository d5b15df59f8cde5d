import { readdir, readFile } from 'node:fs/promises';

/**
 * Process identity from Linux's /proc. A pid alone names a process only until
 * it exits: the kernel hands the number out again. A pid together with its
 * start time (clock ticks after boot) and the boot id names one process for
 * good. Every function here answers `undefined` where there is no /proc
 * (not Linux), and callers fall back to pid-only behaviour there.
 */

/** The fields of /proc/<pid>/stat the reaper needs. */
export interface ProcStat {
  pid: number;
  /** Field 5: the process group. */
  pgrp: number;
  /** Field 22: start time in clock ticks after boot. */
  startTime: number;
}

/** Parse one /proc/<pid>/stat line; undefined if it is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  // Field 2 is the command name in parentheses, which may itself hold spaces
  // and ')': the fixed fields start after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const rest = text.slice(close + 2).split(' '); // rest[0] is field 3
  const pgrp = Number(rest[2]);
  const startTime = Number(rest[19]);
  if (![pid, pgrp, startTime].every(Number.isSafeInteger)) return undefined;
  return { pid, pgrp, startTime };
}

/** The process `pid` as /proc shows it now; undefined when there is no such process (or no /proc). */
export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined; // no such process (ESRCH: it exited while we read)
    throw err;
  }
  return parseProcStat(text);
}

/** Changes at every boot: start times of different boots are not comparable. Undefined without /proc. */
export async function currentBootId(): Promise<string | undefined> {
  try {
    return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Every process /proc shows now (those that exit while it is read are left out). */
export async function listProcesses(): Promise<ProcStat[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const stats = await Promise.all(pids.map((pid) => readProcStat(pid).catch(() => undefined)));
  return stats.filter((s): s is ProcStat => s !== undefined);
}

/** This process's identity, or undefined without /proc. */
export async function selfIdentity(): Promise<{ pid: number; startTime: number; bootId: string } | undefined> {
  const [bootId, stat] = await Promise.all([currentBootId(), readProcStat(process.pid)]);
  if (bootId === undefined || stat === undefined) return undefined;
  return { pid: process.pid, startTime: stat.startTime, bootId };
}
