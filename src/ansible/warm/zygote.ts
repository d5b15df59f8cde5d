import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../observability/logger.js';

/** One run asked of the zygote (see scripts/ansible/zygote.py for the protocol). */
export interface ForkRequest {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  socket: string;
  token: string;
  exitFile: string;
  /** ansible-playbook, exec'ed by the child when a setting fixed at import differs from the zygote's. */
  fallback: string;
}

/** How a forked run ended: `lost` when the zygote died first (the child lives on, re-parented). */
export type ChildExit = { code: number | null; signal: number | null } | { lost: true };

export interface Forked {
  pid: number;
  exit: Promise<ChildExit>;
}

interface Reply {
  type: 'ready' | 'started' | 'exit' | 'error';
  id?: number;
  pid?: number;
  code?: number | null;
  signal?: number | null;
  message?: string;
  rss_kib?: number | null;
  import_s?: number;
  deps_memo?: DepsMemo;
}

/** Ansible's module_utils parsed once in the zygote for every run's module payloads (scripts/ansible/zygote_deps.py). */
export interface DepsMemo {
  /** Files whose imports the zygote knows. */
  files: number;
  /** Why it is off (runs then parse every file, as bare runs do); null when on. */
  off: string | null;
}

export interface ZygoteSpec {
  python: string;
  script: string;
  /** Its private directory: cwd, and Ansible's temp and home while it imports. */
  dir: string;
  env: Record<string, string>;
  logger: Logger;
}

/**
 * A running zygote: a Python process that imported Ansible and forks a child per
 * run. Detached (a terminal's Ctrl-C is the service's to handle, not its own);
 * it exits when its stdin closes, so it never outlives the service for long.
 */
export class Zygote {
  readonly pid: number;
  /** Seconds the zygote spent importing before it was ready. */
  importSeconds = 0;
  depsMemo: DepsMemo = { files: 0, off: 'not reported' };
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (f: Forked) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly running = new Map<number, (exit: ChildExit) => void>();
  private buffer = '';
  private exitedFlag = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly child: ChildProcess, private readonly logger: Logger) {
    this.pid = child.pid as number;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitedFlag = true;
        for (const [, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new Error(`zygote exited (code ${code}, signal ${signal})`));
        }
        this.pending.clear();
        for (const [, settle] of this.running) settle({ lost: true });
        this.running.clear();
        resolve({ code, signal });
      });
    });
  }

  /** Start one and wait until it imported Ansible (rejects when it exits or takes longer than `readyMs`). */
  static async start(spec: ZygoteSpec, readyMs: number): Promise<Zygote> {
    const child = spawn(spec.python, ['-u', spec.script], {
      cwd: spec.dir,
      env: spec.env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    child.on('error', () => undefined); // reported through 'exit' (ENOENT: no pid, exit follows)
    if (child.pid === undefined) {
      const err = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new Error(`cannot start the warm runner's zygote (${spec.python}): ${err.message}`);
    }
    const zygote = new Zygote(child, spec.logger);
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4096);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const ready = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`zygote not ready after ${readyMs} ms`)), readyMs);
      zygote.onReady = (reply) => {
        clearTimeout(timer);
        resolve(reply);
      };
      void zygote.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`zygote exited before it was ready (code ${code}, signal ${signal}): ${output.trim().slice(-1000)}`));
      });
      (child.stdio[3] as Readable).on('data', (chunk: Buffer) => zygote.onControl(chunk));
    }).catch((err: unknown) => {
      zygote.kill();
      throw err;
    });
    zygote.importSeconds = ready.import_s ?? 0;
    if (ready.deps_memo) zygote.depsMemo = ready.deps_memo;
    // Later output of the zygote itself (not of runs: they have their own stdio) goes to the log.
    child.stdout?.off('data', keep);
    child.stderr?.off('data', keep);
    const log = (chunk: Buffer): void => zygote.logger.warn({ zygotePid: zygote.pid, output: chunk.toString('utf8').slice(0, 2000) }, 'warm runner zygote wrote');
    child.stdout?.on('data', log);
    child.stderr?.on('data', log);
    return zygote;
  }

  private onReady: (reply: Reply) => void = () => undefined;

  get alive(): boolean {
    return !this.exitedFlag;
  }

  /** Runs forked and not yet exited. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Ask for a child; rejects if the zygote does not answer within `startMs` (the caller then treats it as wedged). */
  fork(request: ForkRequest, startMs: number): Promise<Forked> {
    if (!this.alive) return Promise.reject(new Error('zygote is gone'));
    const id = this.nextId++;
    const line = `${JSON.stringify({
      id,
      argv: request.argv,
      env: request.env,
      cwd: request.cwd,
      socket: request.socket,
      token: request.token,
      exit_file: request.exitFile,
      fallback: request.fallback,
    })}\n`;
    return new Promise<Forked>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`zygote did not fork within ${startMs} ms`));
      }, startMs);
      this.pending.set(id, { resolve, reject, timer });
      (this.child.stdin as Writable).write(line, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  /** Resident memory of the zygote itself (its children share most of it until they write). */
  rssBytes(): number | undefined {
    try {
      const kib = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1];
      return kib === undefined ? undefined : Number(kib) * 1024;
    } catch {
      return undefined;
    }
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  /** Close its stdin (it exits by itself), SIGKILL after `graceMs`. Children in flight run on in their own sessions. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.alive) return;
    this.child.stdin?.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onControl(chunk: Buffer): void {
    this.buffer += chunk.toString('utf8');
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch (err) {
        this.logger.warn({ err, line: line.slice(0, 500) }, 'warm runner zygote sent a line that is not JSON');
        continue;
      }
      this.handle(reply);
    }
  }

  private handle(reply: Reply): void {
    if (reply.type === 'ready') return this.onReady(reply);
    const id = reply.id ?? -1;
    if (reply.type === 'started' || reply.type === 'error') {
      const p = this.pending.get(id);
      if (!p) {
        // Asked too late (the fork timed out): the run went elsewhere, so its child must not run on.
        if (reply.type === 'started' && reply.pid) killGroup(reply.pid);
        return;
      }
      this.pending.delete(id);
      clearTimeout(p.timer);
      if (reply.type === 'error' || !reply.pid) return p.reject(new Error(reply.message ?? 'zygote could not fork'));
      const exit = new Promise<ChildExit>((resolve) => this.running.set(id, resolve));
      p.resolve({ pid: reply.pid, exit });
      return;
    }
    if (reply.type === 'exit') {
      const settle = this.running.get(id);
      this.running.delete(id);
      settle?.({ code: reply.code ?? null, signal: reply.signal ?? null });
    }
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}
