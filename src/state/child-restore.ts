import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signalGroup, trackGroup } from '../ansible/process-group.js';
import type { Logger } from '../observability/logger.js';
import { repoRoot } from '../paths.js';
import type { LedgerConflict } from './changelog-apply.js';
import type { ChildMessage, ParentMessage, RestoreJob } from './restore-protocol.js';

/** The child's script: beside this module when built; from sources (tests), the built copy. */
const SCRIPT = [fileURLToPath(new URL('./restore-child.js', import.meta.url)), join(repoRoot(), 'dist/state/restore-child.js')].find((f) => existsSync(f));

export interface ChildRestoreOptions {
  job: RestoreJob;
  logger: Logger;
  /** Aborting kills the child (SIGTERM to its process group, SIGKILL after `killGraceMs`). */
  signal: AbortSignal;
  /** No message from the child for this long: it is taken for hung and killed. */
  stallMs: number;
  killGraceMs?: number;
  onStart?: (pid: number) => void;
  /** A committed transaction: the partition's checkpoint in the local store is `position`. */
  onProgress: (partition: number, position: bigint, applied: number) => void;
  onConflict: (partition: number, conflict: LedgerConflict) => void;
}

export type ChildRestoreOutcome = { ok: true } | { ok: false; reason: string };

const STDERR_TAIL = 2_000;
const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * Runs one bulk restore in a child process (restore-child.js) and resolves
 * with how it ended; it never rejects. Whatever the outcome, the local store
 * is exact up to each partition's checkpoint (the child commits records and
 * checkpoint together), so the caller goes on from the checkpoint.
 */
export function restoreInChild(o: ChildRestoreOptions): Promise<ChildRestoreOutcome> {
  if (!SCRIPT) return Promise.resolve({ ok: false, reason: 'restore-child.js is not built (npm run build)' });
  if (o.signal.aborted) return Promise.resolve({ ok: false, reason: 'aborted before it started' });
  return new Promise((resolve) => {
    // detached: the child leads its own process group (killed as a whole); it exits by itself when our IPC channel closes.
    const child = fork(SCRIPT, [], { detached: true, execArgv: [], serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const pid = child.pid;
    const untrack = pid === undefined ? () => false : trackGroup(pid);
    let done = false;
    let stoppedFor: string | null = null;
    let failed: string | null = null;
    let stderr = '';
    let forceKill: NodeJS.Timeout | undefined;
    let stall: NodeJS.Timeout | undefined;

    const kill = (why: string): void => {
      if (stoppedFor || pid === undefined) return;
      stoppedFor = why;
      signalGroup(pid, 'SIGTERM');
      forceKill = setTimeout(() => signalGroup(pid, 'SIGKILL'), o.killGraceMs ?? 2_000);
    };
    const onAbort = (): void => kill('aborted (the ledger store stopped)');
    const alive = (): void => {
      clearTimeout(stall);
      stall = setTimeout(() => kill(`stalled: no progress for ${o.stallMs} ms`), o.stallMs);
    };
    o.signal.addEventListener('abort', onAbort, { once: true });
    alive();

    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL)));
    child.on('message', (m: ChildMessage) => {
      alive();
      switch (m.type) {
        case 'progress':
          return o.onProgress(m.partition, m.position, m.applied);
        case 'conflict':
          return o.onConflict(m.partition, m.conflict);
        case 'log':
          return relay(o.logger, m.line);
        case 'done':
          done = true;
          return;
        case 'failed':
          failed = m.message;
          return;
      }
    });
    child.once('spawn', () => {
      if (pid !== undefined) o.onStart?.(pid);
      const job: ParentMessage = { type: 'job', job: o.job };
      child.send(job);
    });
    child.once('error', (err) => {
      failed ??= `could not run it: ${err.message}`;
    });
    child.once('close', (code, signal) => {
      clearTimeout(stall);
      clearTimeout(forceKill);
      o.signal.removeEventListener('abort', onAbort);
      if (pid !== undefined) signalGroup(pid, 'SIGKILL'); // stragglers of its group, if any
      untrack();
      if (done && code === 0) return resolve({ ok: true });
      const how = signal ? `killed by ${signal}` : `exit code ${code}`;
      const tail = stderr.trim() ? `; stderr: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : '';
      resolve({ ok: false, reason: `${stoppedFor ?? failed ?? 'it ended early'} (${how})${tail}` });
    });
  });
}

/** One pino line of the child's, logged through ours (the parent's level and destination). */
function relay(logger: Logger, line: string): void {
  try {
    const { level, msg, time: _time, pid: _pid, hostname: _host, name: _name, ...fields } = JSON.parse(line) as Record<string, unknown>;
    logger[LEVELS[Number(level)] ?? 'info'](fields, String(msg ?? ''));
  } catch {
    logger.info({ line }, 'ledger restore child');
  }
}
