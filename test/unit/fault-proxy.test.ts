import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

// The proxy in front of an echo server: what goes in comes back, unless a fault says otherwise.
describe('fault proxy', () => {
  let echo: Server;
  let proxy: FaultProxy;
  const clients: Socket[] = [];

  beforeEach(async () => {
    echo = createServer((s) => s.on('error', () => {}).pipe(s));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    proxy = await startFaultProxy({ targetHost: '127.0.0.1', targetPort: (echo.address() as AddressInfo).port });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await proxy.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  /** A client connected through the proxy that records what it receives and how it ended. */
  async function client() {
    const socket = connect({ host: proxy.host, port: proxy.port });
    clients.push(socket);
    let received = '';
    let error: NodeJS.ErrnoException | null = null;
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (e) => (error = e));
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return {
      socket,
      closed,
      received: () => received,
      error: () => error,
      /** Send `text` and resolve with the time until it came back in full. */
      async roundTrip(text: string, timeoutMs = 2000): Promise<number> {
        const start = performance.now();
        const before = received.length;
        socket.write(text);
        const deadline = Date.now() + timeoutMs;
        while (received.length < before + text.length) {
          if (Date.now() > deadline) throw new Error(`no echo of ${JSON.stringify(text)} within ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 5));
        }
        return performance.now() - start;
      },
    };
  }

  it('forwards both ways', async () => {
    const c = await client();
    await c.roundTrip('hello');
    await c.roundTrip(' world');
    expect(c.received()).toBe('hello world');
    expect(proxy.connections).toBe(1);
  });

  it('resetAll() ends every open connection with ECONNRESET and lets new ones through', async () => {
    const [a, b] = [await client(), await client()];
    await a.roundTrip('x');
    await b.roundTrip('y');
    expect(proxy.resetAll()).toBe(2);
    await Promise.all([a.closed, b.closed]);
    expect(a.error()?.code).toBe('ECONNRESET');
    expect(b.error()?.code).toBe('ECONNRESET');
    const c = await client();
    await c.roundTrip('again');
  });

  it('setLatency() delays each direction and keeps the byte order', async () => {
    const c = await client();
    const fast = await c.roundTrip('a');
    proxy.setLatency(100);
    const slow = await c.roundTrip('b');
    expect(slow).toBeGreaterThanOrEqual(190); // 100 ms each way
    expect(fast).toBeLessThan(100);
    for (const ch of 'cdefg') c.socket.write(ch);
    await c.roundTrip('h');
    expect(c.received()).toBe('abcdefgh');
    proxy.setLatency(0);
    expect(await c.roundTrip('i')).toBeLessThan(100);
  });

  it("cut('reset') resets open connections and every new one until restore()", async () => {
    const a = await client();
    await a.roundTrip('x');
    proxy.cut('reset');
    await a.closed;
    expect(a.error()?.code).toBe('ECONNRESET');
    // The RST may come before or after the client saw its connect.
    const b = await client().then(
      async (c) => (await c.closed, c.error()?.code),
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(b).toBe('ECONNRESET');
    proxy.restore();
    const c = await client();
    await c.roundTrip('back');
  });

  it("cut('stall') blackholes open and new connections; restore() delivers what waited", async () => {
    const a = await client();
    await a.roundTrip('x');
    proxy.cut('stall');
    await expect(a.roundTrip('y', 300)).rejects.toThrow(/no echo/);
    const b = await client(); // the kernel accepts it, nothing answers
    await expect(b.roundTrip('z', 300)).rejects.toThrow(/no echo/);
    expect(a.error()).toBeNull();
    proxy.restore();
    await a.roundTrip('');
    await expect.poll(() => a.received()).toBe('xy');
    await expect.poll(() => b.received()).toBe('z');
    await a.roundTrip('!');
  });

  it('close() is idempotent and ends open connections', async () => {
    const a = await client();
    await a.roundTrip('x');
    const first = proxy.close();
    expect(proxy.close()).toBe(first);
    await first;
    await a.closed;
    await expect(client()).rejects.toThrow(/ECONNREFUSED/);
  });
});
