import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../../observability/logger.js';

/** Where a run's stdout and stderr go once its child connected them. */
export interface StdioSink {
  stdout: (chunk: Buffer) => void;
  stderr: (chunk: Buffer) => void;
}

/** A run's two streams: `ended` resolves once both connected and ended (or `abandon` gave up on them). */
export interface StdioRoute {
  token: string;
  ended: Promise<void>;
  /** The child is gone: a stream that never connected will not; stop waiting for it after `graceMs`. */
  childExited(graceMs: number): void;
  dispose(): void;
}

type Kind = 'stdout' | 'stderr';
interface RouteEntry {
  sink: StdioSink;
  connected: Set<Kind>;
  endedKinds: Set<Kind>;
  settle: () => void;
  timer?: NodeJS.Timeout;
}
const MAX_HEADER = 256;
/** How long a late child of an abandoned run is still recognised. */
const ABANDONED_MS = 60_000;

/**
 * A unix socket in a private directory: each warm child connects twice (stdout,
 * stderr) and sends `<token> <kind> <pid>\n` first; the token (random, per run)
 * routes the rest of the bytes. A connection with an unknown token belongs to a
 * run given up on: its process group is killed.
 */
export class StdioServer {
  private readonly routes = new Map<string, RouteEntry>();
  /** Tokens of runs given up on before both streams connected: a late child with one is killed. */
  private readonly abandoned = new Set<string>();
  private server: Server | undefined;
  readonly path: string;

  constructor(dir: string, private readonly logger: Logger, private readonly onStray: (pid: number) => void) {
    this.path = join(dir, 'stdio.sock');
  }

  async listen(): Promise<void> {
    await rm(this.path, { force: true });
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.logger.warn({ err }, 'warm runner stdio socket error'));
    this.server = server;
  }

  route(sink: StdioSink): StdioRoute {
    const token = randomBytes(16).toString('hex');
    let settle!: () => void;
    const ended = new Promise<void>((resolve) => (settle = resolve));
    const entry: RouteEntry = { sink, connected: new Set<Kind>(), endedKinds: new Set<Kind>(), settle };
    this.routes.set(token, entry);
    return {
      token,
      ended,
      childExited: (graceMs) => {
        // Both connect before the child does anything else; a child that exits without (it failed first) never will.
        if (entry.connected.size < 2) entry.timer = setTimeout(settle, graceMs);
      },
      dispose: () => {
        clearTimeout(entry.timer);
        this.routes.delete(token);
        if (entry.connected.size < 2) this.forgetLater(token);
        settle();
      },
    };
  }

  private forgetLater(token: string): void {
    this.abandoned.add(token);
    setTimeout(() => this.abandoned.delete(token), ABANDONED_MS).unref();
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }

  private accept(socket: Socket): void {
    let header = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      header = Buffer.concat([header, chunk]);
      const newline = header.indexOf(10);
      if (newline < 0) {
        if (header.length > MAX_HEADER) socket.destroy();
        return;
      }
      socket.off('data', onData);
      const [token = '', kind = '', pidText = ''] = header.subarray(0, newline).toString('utf8').split(' ');
      const rest = header.subarray(newline + 1);
      this.attach(socket, token, kind, Number(pidText), rest);
    };
    socket.on('data', onData);
    socket.on('error', (err) => this.logger.debug({ err }, 'warm runner stdio connection error'));
  }

  private attach(socket: Socket, token: string, kind: string, pid: number, rest: Buffer): void {
    const entry = this.routes.get(token);
    if (!entry || (kind !== 'stdout' && kind !== 'stderr') || entry.connected.has(kind)) {
      if (entry === undefined && this.abandoned.has(token) && Number.isSafeInteger(pid) && pid > 1) this.onStray(pid);
      socket.destroy();
      return;
    }
    entry.connected.add(kind);
    const write = entry.sink[kind];
    if (rest.length > 0) write(rest);
    socket.on('data', write);
    socket.once('close', () => {
      entry.endedKinds.add(kind);
      if (entry.endedKinds.size === 2) entry.settle();
    });
  }
}
