import type { ServerResponse } from 'node:http';

export interface SseOptions {
  /** The data of one event: the whole current state (clients just redraw). */
  snapshot: () => unknown;
  /** Subscribes to changes; returns the unsubscribe function. */
  onChange: (listener: () => void) => () => void;
  /** At most one event per client this often, however fast things change. */
  throttleMs?: number;
  /** More clients than this are turned away (503): each costs a socket and a serialisation per change. */
  maxClients?: number;
  /** A comment line this often keeps proxies from closing an idle stream. */
  keepAliveMs?: number;
}

/**
 * Server-Sent Events for the status page: every client gets the current
 * snapshot on connect and again after each change, at most once per
 * `throttleMs`. Bounded: a fixed number of clients, one pending timer each.
 */
export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly timers = new Map<ServerResponse, NodeJS.Timeout>();
  private readonly keepAlive: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly o: SseOptions) {
    this.unsubscribe = o.onChange(() => {
      for (const client of this.clients) this.schedule(client);
    });
    this.keepAlive = setInterval(() => {
      for (const client of this.clients) client.write(': keep-alive\n\n');
    }, o.keepAliveMs ?? 15_000);
    this.keepAlive.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over the response; false (and a 503 sent) when there are too many clients or the hub is closed. */
  accept(res: ServerResponse): boolean {
    if (this.closed || this.clients.size >= (this.o.maxClients ?? 32)) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '10' }).end('too many status page clients\n');
      return false;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    res.on('close', () => this.drop(res));
    this.send(res);
    return true;
  }

  /** Ends every stream (so the server can close) and stops listening. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.keepAlive);
    for (const client of [...this.clients]) {
      this.drop(client);
      client.end();
    }
  }

  private schedule(client: ServerResponse): void {
    if (this.timers.has(client)) return;
    const timer = setTimeout(() => {
      this.timers.delete(client);
      this.send(client);
    }, this.o.throttleMs ?? 250);
    timer.unref();
    this.timers.set(client, timer);
  }

  private send(client: ServerResponse): void {
    if (!this.clients.has(client)) return;
    client.write(`data: ${JSON.stringify(this.o.snapshot())}\n\n`);
  }

  private drop(client: ServerResponse): void {
    this.clients.delete(client);
    clearTimeout(this.timers.get(client));
    this.timers.delete(client);
  }
}
