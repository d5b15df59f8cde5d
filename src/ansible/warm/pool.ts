import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger, type Logger } from '../../observability/logger.js';
import { repoRoot } from '../../paths.js';
import { ansiblePython } from '../interpreter.js';
import type { LaunchCommand, Launched, LaunchExit } from '../launch.js';
import { waitGroupGone } from '../process-group.js';
import { baseRunEnv } from '../run-dir.js';
import { StdioServer } from './stdio-server.js';
import { type DepsMemo, Zygote } from './zygote.js';

export interface WarmPoolOptions {
  ansiblePlaybook: string;
  /** Parent of the pool's private directory (the runner's work dir). */
  workDir: string;
  /** Zygotes kept running; runs go to the least busy. Default 1. */
  size?: number;
  /** Where callback_plugins/, library/ and module_utils/ live (the zygote imports with the runs' settings). */
  playbooksDir: string;
  /** First delay before a dead zygote is replaced; doubles up to `restartBackoffMaxMs`, reset after a minute of life. */
  restartBackoffMs?: number;
  restartBackoffMaxMs?: number;
  /** A zygote that has not imported Ansible by then is killed (and replaced). Default 60 s. */
  readyTimeoutMs?: number;
  /** A zygote that does not answer a run request within this is killed as wedged; the run falls back. Default 5 s. */
  forkTimeoutMs?: number;
  logger?: Logger;
}

/** Why a run was spawned the usual way although the warm runner is on. */
export type FallbackReason = 'no_zygote' | 'fork_failed';

export interface WarmPoolEvents {
  fallback: [{ reason: FallbackReason }];
  zygoteReady: [{ slot: number; pid: number; rssBytes: number | undefined; importSeconds: number; depsMemo: DepsMemo }];
  zygoteExit: [{ slot: number; pid: number; code: number | null; signal: NodeJS.Signals | null; expected: boolean }];
}

export interface ZygoteStats {
  slot: number;
  pid: number | null;
  rssBytes: number | null;
  runsInFlight: number;
  restarts: number;
}

interface Slot {
  index: number;
  zygote: Zygote | null;
  restarts: number;
}

const LIVED_LONG_MS = 60_000;
/** After the child exited, how long a stream that never connected is waited for. */
const STREAM_GRACE_MS = 200;
const REAP_WAIT_MS = 2000;

/**
 * Zygotes under supervision: each slot starts one, and when it dies (or is killed
 * as wedged) logs it and starts another after a backoff. While no zygote is ready,
 * `launch` returns null and the runner spawns ansible-playbook as before.
 */
export class WarmPool extends EventEmitter<WarmPoolEvents> {
  private readonly slots: Slot[];
  private readonly logger: Logger;
  private dir: string | undefined;
  private io: StdioServer | undefined;
  private started: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly stopController = new AbortController();
  /** A fallback was logged since the last zygote became ready (one warning per outage, not one per run). */
  private saidFallback = false;

  constructor(private readonly options: WarmPoolOptions) {
    super();
    this.logger = options.logger ?? silentLogger();
    this.slots = Array.from({ length: Math.max(1, options.size ?? 1) }, (_, index) => ({ index, zygote: null, restarts: 0 }));
  }

  /** Starts the zygotes in the background; resolves once the pool's socket listens (runs fall back until a zygote is ready). */
  start(): Promise<void> {
    this.started ??= this.open();
    return this.started;
  }

  /** Resolves when every slot has a ready zygote (tests and benchmarks), or rejects after `ms`. */
  async whenReady(ms = 60_000): Promise<void> {
    await this.start();
    const deadline = Date.now() + ms;
    while (this.slots.some((s) => !s.zygote?.alive)) {
      if (Date.now() > deadline) throw new Error(`warm runner: zygotes not ready after ${ms} ms`);
      await sleep(20);
    }
  }

  stats(): ZygoteStats[] {
    return this.slots.map((s) => ({
      slot: s.index,
      pid: s.zygote?.alive ? s.zygote.pid : null,
      rssBytes: (s.zygote?.alive ? s.zygote.rssBytes() : undefined) ?? null,
      runsInFlight: s.zygote?.inFlight ?? 0,
      restarts: s.restarts,
    }));
  }

  /** The ready zygotes' pids (tests kill one to see it replaced). */
  pids(): number[] {
    return this.slots.flatMap((s) => (s.zygote?.alive ? [s.zygote.pid] : []));
  }

  /** Fork the run from a ready zygote; null when none is, or the run wants another ansible-playbook (the caller spawns instead). */
  async launch(command: LaunchCommand): Promise<Launched | null> {
    if (command.file !== this.options.ansiblePlaybook) return null; // our zygotes import this one's Ansible only
    const zygote = this.pick();
    const io = this.io;
    if (!zygote || !io) return this.fallback('no_zygote');
    const route = io.route({ stdout: command.stdout, stderr: command.stderr });
    const exitFile = join(command.runDir, 'exit-code');
    let forked;
    try {
      forked = await zygote.fork(
        { argv: command.args, env: { ...stringEnv(process.env), ...command.env }, cwd: command.cwd, socket: io.path, token: route.token, exitFile, fallback: command.file },
        this.options.forkTimeoutMs ?? 5000,
      );
    } catch (err) {
      route.dispose();
      if (zygote.alive) {
        this.logger.warn({ err, zygotePid: zygote.pid }, 'warm runner zygote did not fork a run: killed, to be replaced; this run is spawned');
        zygote.kill();
      }
      return this.fallback('fork_failed');
    }
    const pid = forked.pid;
    const done = (async (): Promise<LaunchExit> => {
      const exit = await forked.exit;
      route.childExited(STREAM_GRACE_MS);
      await route.ended;
      route.dispose();
      if (!('lost' in exit)) return exit.code === null ? { exitCode: null, failure: `killed by signal ${exit.signal}` } : { exitCode: exit.code };
      // The zygote died under the run: the child is no longer ours to wait for; its group and exit file say how it ended.
      await waitGroupGone(pid, REAP_WAIT_MS);
      const code = await readFile(exitFile, 'utf8').then((t) => Number.parseInt(t, 10), () => Number.NaN);
      return Number.isInteger(code) ? { exitCode: code } : { exitCode: null, failure: 'the warm runner zygote died during the run, which did not finish' };
    })();
    return { pid, done, via: 'warm' };
  }

  /** Idempotent: closes every zygote's stdin (SIGKILL after a grace) and the socket. Runs in flight go on. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopController.abort();
      await this.started?.catch(() => undefined);
      await Promise.all(this.slots.map((s) => s.zygote?.stop()));
      await this.io?.close();
      if (this.dir) await rm(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  private fallback(reason: FallbackReason): null {
    if (!this.saidFallback) {
      this.saidFallback = true;
      this.logger.warn({ reason }, 'warm runner: no zygote ready; runs are spawned (ansible-playbook) until one is');
    }
    this.emit('fallback', { reason });
    return null;
  }

  private pick(): Zygote | null {
    let best: Zygote | null = null;
    for (const slot of this.slots) {
      const z = slot.zygote;
      if (z?.alive && (!best || z.inFlight < best.inFlight)) best = z;
    }
    return best;
  }

  private async open(): Promise<void> {
    await mkdir(this.options.workDir, { recursive: true });
    await removeDeadPools(this.options.workDir, this.logger);
    this.dir = await mkdtemp(join(this.options.workDir, `warm-${process.pid}-`));
    this.io = new StdioServer(this.dir, this.logger, (pid) => {
      this.logger.warn({ pid }, 'a warm run given up on started late: its process group is killed');
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    });
    await this.io.listen();
    const python = await ansiblePython(this.options.ansiblePlaybook);
    if (!python) {
      this.logger.warn({ ansiblePlaybook: this.options.ansiblePlaybook }, 'warm runner off: cannot tell which Python runs ansible-playbook; every run is spawned');
      return;
    }
    for (const slot of this.slots) void this.supervise(slot, python, this.dir);
  }

  private async supervise(slot: Slot, python: string, dir: string): Promise<void> {
    const initial = this.options.restartBackoffMs ?? 1000;
    const max = this.options.restartBackoffMaxMs ?? 30_000;
    let delay = initial;
    const signal = this.stopController.signal;
    while (!signal.aborted) {
      const home = join(dir, `zygote-${slot.index}`);
      const bornAt = Date.now();
      try {
        await rm(home, { recursive: true, force: true });
        await mkdir(home, { recursive: true });
        const env = { ...stringEnv(process.env), ...baseRunEnv(this.options.playbooksDir), ANSIBLE_LOCAL_TEMP: join(home, 'tmp'), ANSIBLE_HOME: join(home, 'home') };
        const zygote = await Zygote.start({ python, script: zygoteScript(), dir: home, env, logger: this.logger }, this.options.readyTimeoutMs ?? 60_000);
        if (signal.aborted) {
          await zygote.stop();
          return;
        }
        slot.zygote = zygote;
        this.saidFallback = false;
        const rssBytes = zygote.rssBytes();
        this.logger.info({ slot: slot.index, zygotePid: zygote.pid, rssMiB: rssBytes === undefined ? null : Math.round(rssBytes / 1048576), importSeconds: zygote.importSeconds, depsMemo: zygote.depsMemo }, 'warm runner zygote ready');
        if (zygote.depsMemo.off !== null) this.logger.warn({ slot: slot.index, reason: zygote.depsMemo.off }, 'warm runner: module_utils are parsed in every run (the zygote keeps no parses)');
        this.emit('zygoteReady', { slot: slot.index, pid: zygote.pid, rssBytes, importSeconds: zygote.importSeconds, depsMemo: zygote.depsMemo });
        const { code, signal: sig } = await zygote.exited;
        slot.zygote = null;
        this.emit('zygoteExit', { slot: slot.index, pid: zygote.pid, code, signal: sig, expected: signal.aborted });
        if (signal.aborted) return;
        slot.restarts++;
        this.logger.warn({ slot: slot.index, zygotePid: zygote.pid, code, signal: sig }, 'warm runner zygote exited: runs are spawned until it is replaced');
      } catch (err) {
        if (signal.aborted) return;
        slot.restarts++;
        this.logger.warn({ err, slot: slot.index }, 'warm runner zygote failed to start: runs are spawned meanwhile');
      }
      delay = Date.now() - bornAt > LIVED_LONG_MS ? initial : delay;
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      delay = Math.min(max, delay * 2);
    }
  }
}

/** Pool directories (socket, zygote temp dirs) of processes that died without stopping their pool (kill -9). */
async function removeDeadPools(workDir: string, logger: Logger): Promise<void> {
  for (const entry of await readdir(workDir)) {
    const pid = Number(/^warm-(\d+)-/.exec(entry)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid || pidAlive(pid)) continue;
    await rm(join(workDir, entry), { recursive: true, force: true }).catch((err: unknown) => logger.warn({ err, entry }, 'cannot remove a dead warm runner directory'));
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function zygoteScript(): string {
  return join(repoRoot(), 'scripts', 'ansible', 'zygote.py');
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
