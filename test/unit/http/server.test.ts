import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/index.js';
import { HttpServer, type HttpEndpoints } from '../../../src/http/server.js';
import type { StatusSnapshot } from '../../../src/http/status-model.js';
import type { HealthReport } from '../../../src/observability/health.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { testConfig } from '../../helpers/config.js';

function fakeEndpoints() {
  const listeners = new Set<() => void>();
  const state = { ready: false, version: 0 };
  const report = (ok: boolean, good: 'ok' | 'ready', bad: 'failing' | 'not ready'): HealthReport =>
    ok ? { status: good, checks: {}, reasons: [] } : { status: bad, checks: { broker: { ok: false, reason: 'down' } }, reasons: ['broker: down'] };
  const endpoints: HttpEndpoints = {
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'amh_ready 0\n' }),
    liveness: () => report(true, 'ok', 'failing'),
    readiness: () => report(state.ready, 'ready', 'not ready'),
    snapshot: () => ({ version: state.version }) as unknown as StatusSnapshot,
    onChange: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  const change = () => {
    state.version++;
    for (const l of listeners) l();
  };
  return { endpoints, state, change };
}

const servers: HttpServer[] = [];
async function start(endpoints: HttpEndpoints, port = 0) {
  const server = new HttpServer({ host: '127.0.0.1', port, logger: silentLogger(), endpoints, sse: { throttleMs: 10 } });
  servers.push(server);
  const address = await server.start();
  return { server, url: `http://127.0.0.1:${address.port}` };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('HttpServer', () => {
  it('answers health with 200 or 503 and a JSON body that says why', async () => {
    const { endpoints, state } = fakeEndpoints();
    const { url } = await start(endpoints);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('content-type')).toBe('application/json');
    expect(await notReady.json()).toEqual({ status: 'not ready', checks: { broker: { ok: false, reason: 'down' } }, reasons: ['broker: down'] });
    state.ready = true;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('serves metrics, the page and its JSON; refuses other methods and paths', async () => {
    const { endpoints } = fakeEndpoints();
    const { url } = await start(endpoints);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await metrics.text()).toBe('amh_ready 0\n');
    for (const path of ['/', '/status']) {
      const page = await fetch(`${url}${path}`);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await page.text()).toContain('<title>am-handlers status</title>');
    }
    expect(await (await fetch(`${url}/status.json`)).json()).toEqual({ version: 0 });
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('streams a snapshot on connect and after changes, and stop() ends open streams at once', async () => {
    const { endpoints, change } = fakeEndpoints();
    const { server, url } = await start(endpoints);
    const received: string[] = [];
    const closed = new Promise<void>((resolve, reject) => {
      request(`${url}/events`, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          received.push(...chunk.split('\n').filter((l) => l.startsWith('data: ')));
          if (received.length === 1) change();
        });
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    await expect.poll(() => received).toEqual(['data: {"version":0}', 'data: {"version":1}']);
    const started = Date.now();
    const first = server.stop();
    expect(server.stop()).toBe(first); // idempotent
    await first;
    await closed;
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fails to start on a port in use with a ConfigError naming http.port', async () => {
    const { endpoints } = fakeEndpoints();
    const { server } = await start(endpoints);
    const port = server.address?.port as number;
    const second = new HttpServer({ host: '127.0.0.1', port, logger: silentLogger(), endpoints });
    const err = await second.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/`http\.port`.*127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    await second.stop();
  });
});

describe('http config', () => {
  it('has defaults: loopback, port 9100, a 5 s probe, 50 recent rows', () => {
    const config = testConfig({ http: { port: 9100 } });
    expect(config.http).toEqual({ enabled: true, host: '127.0.0.1', port: 9100, probe_interval: 5000, recent: 50 });
  });

  it.each([
    [{ port: 70000 }, 'http.port'],
    [{ port: 'auto' }, 'http.port'],
    [{ host: 'a b' }, 'http.host'],
    [{ probe_interval: 'often' }, 'http.probe_interval'],
    [{ probe_interval: '10ms' }, 'http.probe_interval'],
    [{ recent: 0 }, 'http.recent'],
    [{ color: 'blue' }, 'http'],
  ])('rejects %j naming %s', (http, path) => {
    expect(() => testConfig({ http })).toThrow(new RegExp(path.replace('.', '\\.')));
  });
});
