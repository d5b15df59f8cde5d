// A small fault-injecting TCP proxy for tests: it forwards 127.0.0.1:<port>
// to a target (the Kafka broker) and can reset connections, add latency, or
// cut the target off (refusing with RST, or stalling silently), then restore.
// Only node:net: no Toxiproxy binary to install in CI.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import type { ISocketFactory } from 'kafkajs';

/**
 * How a cut looks to the client:
 * - `reset`: every open connection gets a TCP RST; new ones are accepted and reset at once
 *   (what a crashed broker host with a live port-forwarder looks like; the client sees ECONNRESET).
 * - `stall`: open connections stop carrying bytes, new ones are accepted and never answered
 *   (a network partition: the client only notices through its own timeouts).
 */
export type CutMode = 'reset' | 'stall';

export interface FaultProxy {
  /** 127.0.0.1 */
  readonly host: string;
  /** The ephemeral port the proxy listens on. */
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** Connections currently open through the proxy (client side). */
  readonly connections: number;
  /** Connections accepted since start. */
  readonly accepted: number;
  /** Destroy every open connection with a TCP RST (both sides). New connections work as before. */
  resetAll(): number;
  /** Delay every chunk, each direction, by `ms` (0 removes it). Applies to open and new connections; order is kept. */
  setLatency(ms: number): void;
  /** Cut the target off; see {@link CutMode}. */
  cut(mode?: CutMode): void;
  /** Undo cut(): new connections are forwarded again; stalled ones resume (unless the client gave up). */
  restore(): void;
  /** Stop listening and destroy every connection. Idempotent. */
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  targetHost: string;
  targetPort: number;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

export async function startFaultProxy({ targetHost, targetPort }: FaultProxyOptions): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  const stalled = new Set<Socket>(); // client sockets accepted during a stall cut, not yet forwarded
  let latencyMs = 0;
  let mode: CutMode | null = null;
  let accepted = 0;
  let closing: Promise<void> | null = null;

  // Everything that flows through goes through one of these per direction:
  // it delays each chunk by the current latency (keeping order), and while
  // stalled it holds the chunk back, so backpressure stops reading the socket.
  const held = new Set<() => void>();
  const link = (): Transform => {
    const queue: { chunk: Buffer; due: number }[] = [];
    let timer: NodeJS.Timeout | null = null;
    const flush = (t: Transform) => {
      timer = null;
      while (queue.length > 0 && queue[0]!.due <= Date.now()) t.push(queue.shift()!.chunk);
      if (queue.length > 0) timer = setTimeout(() => flush(t), queue[0]!.due - Date.now());
    };
    return new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        const accept = () => {
          if (latencyMs <= 0 && queue.length === 0) return done(null, chunk);
          queue.push({ chunk, due: Date.now() + latencyMs });
          timer ??= setTimeout(() => flush(this), Math.max(0, queue[0]!.due - Date.now()));
          done();
        };
        if (mode === 'stall') held.add(accept);
        else accept();
      },
      destroy(err, cb) {
        if (timer) clearTimeout(timer);
        cb(err);
      },
    });
  };

  const forward = (client: Socket): void => {
    const upstream = connect({ host: targetHost, port: targetPort, noDelay: true });
    const pair: Pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      if (!pairs.delete(pair)) return;
      // Mirror an abrupt end on one side as an abrupt end on the other.
      if (!client.destroyed) client.resetAndDestroy();
      if (!upstream.destroyed) upstream.resetAndDestroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(link()).pipe(upstream);
    upstream.pipe(link()).pipe(client);
  };

  const server: Server = createServer({ noDelay: true }, (client) => {
    accepted++;
    client.on('error', () => client.destroy());
    if (mode === 'reset') return void client.resetAndDestroy();
    if (mode === 'stall') {
      // Accepted by the kernel, never answered: the client's request times out.
      stalled.add(client);
      client.pause();
      client.once('close', () => stalled.delete(client));
      return;
    }
    forward(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const resetAll = (): number => {
    const n = pairs.size + stalled.size;
    for (const pair of [...pairs]) {
      pairs.delete(pair);
      pair.client.resetAndDestroy();
      pair.upstream.resetAndDestroy();
    }
    for (const client of [...stalled]) client.resetAndDestroy();
    stalled.clear();
    return n;
  };

  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    get connections() {
      return pairs.size + stalled.size;
    },
    get accepted() {
      return accepted;
    },
    resetAll,
    setLatency(ms) {
      latencyMs = Math.max(0, ms);
    },
    cut(cutMode = 'reset') {
      mode = cutMode;
      if (cutMode === 'reset') resetAll();
    },
    restore() {
      mode = null;
      for (const accept of [...held]) accept();
      held.clear();
      for (const client of [...stalled]) {
        stalled.delete(client);
        if (client.destroyed) continue;
        forward(client);
        client.resume();
      }
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        resetAll();
      });
      return closing;
    },
  };
}

/**
 * A kafkajs `socketFactory` that sends every connection to `proxy`: the
 * bootstrap one and those to the addresses the broker advertises in its
 * metadata (which would otherwise bypass the proxy after bootstrap). `routes`
 * maps each `host:port` the client may be told about to the proxy that stands
 * in for it; a connection to any other address throws (kafkajs reports a
 * KafkaJSConnectionError naming it), so a test can never silently go around
 * its faults. Give it to the Service as `CoreDeps.socketFactory`.
 */
export function proxiedSocketFactory(routes: Record<string, FaultProxy>): ISocketFactory {
  return ({ host, port, onConnect }) => {
    const proxy = routes[`${host}:${port}`];
    if (!proxy) throw new Error(`no fault proxy for broker ${host}:${port} (routes: ${Object.keys(routes).join(', ')})`);
    const socket = connect({ host: proxy.host, port: proxy.port, noDelay: true }, onConnect);
    socket.setKeepAlive(true, 60_000); // as kafkajs' own factory
    return socket;
  };
}
