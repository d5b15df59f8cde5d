// One owner per local store directory. LMDB itself lets many processes share
// a store, but our use of it assumes one: the owner removes the clean-close
// mark, wipes a store it cannot trust, and keeps writes staged in its own
// memory. Two instances started with the same `runtime.ledger_dir` (or two
// services in one process) must not both own it.
//
// The claim is a listening Unix socket, not a pid file: the kernel releases it
// the moment its process dies (kill -9 included), so there is no stale lock to
// guess about, and a second claim fails at once, in the same process or
// another. On Linux it is an abstract socket (no file at all); elsewhere a
// socket file beside the directory, taken over when nothing answers on it.
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';

export class DirLock {
  private released = false;

  private constructor(
    private readonly server: Server,
    private readonly file: string | null,
  ) {}

  /** Claims `dir` (created if missing) for this opener; null when another live opener holds it. */
  static async tryAcquire(dir: string): Promise<DirLock | null> {
    mkdirSync(dir, { recursive: true });
    const real = realpathSync(dir);
    if (process.platform === 'linux') {
      const name = `\0amh-ledgers-${createHash('sha256').update(real).digest('hex').slice(0, 32)}`;
      const server = await listen(name);
      return server ? new DirLock(server, null) : null;
    }
    const file = `${real}.lock.sock`;
    let server = await listen(file);
    if (!server && !(await answers(file))) {
      rmSync(file, { force: true }); // left by a process that died
      server = await listen(file);
    }
    return server ? new DirLock(server, file) : null;
  }

  /** Gives the claim up. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.file) rmSync(this.file, { force: true });
  }
}

/** A server listening at `path`, or null when the address is taken. */
function listen(path: string): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(null) : reject(err)));
    server.listen(path, () => {
      server.removeAllListeners('error');
      server.unref(); // the claim never keeps the process alive
      resolve(server);
    });
  });
}

/** Whether a live process listens at the socket file `path`. */
function answers(path: string): Promise<boolean> {
  mkdirSync(dirname(path), { recursive: true });
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
