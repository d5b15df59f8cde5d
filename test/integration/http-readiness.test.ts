// /readyz follows the broker: stopped, the service is not ready and says why; started again, it is ready again.
// Stops a broker, so it uses its OWN one (never the shared broker): ports 9592/9593, data in a temp dir.
// In the `faults` group of vitest.config.ts.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/config.js';
import { baseUrl, eventually, getJson } from '../helpers/http.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, slowEvent, slowHandler } from '../helpers/slow.js';

const PORT = 9592;
const dir = mkdtempSync(join(tmpdir(), 'amh-http-readiness-'));
const env = {
  ...process.env,
  AMH_KAFKA_DIR: join(dir, 'kafka'),
  AMH_KAFKA_PORT: String(PORT),
  AMH_KAFKA_CONTROLLER_PORT: String(PORT + 1),
  AMH_KAFKA_HEAP_OPTS: '-Xmx256m -Xms128m',
};

function kafka(command: 'start' | 'stop'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO, 'scripts/kafka.sh'), command], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kafka.sh ${command} exited with ${code}`))));
  });
}

interface Health {
  status: string;
  reasons: string[];
  checks: Record<string, { ok: boolean; reason?: string }>;
}

describe('readiness with a broker that stops and starts', () => {
  let t: TestService | undefined;

  beforeAll(async () => {
    await kafka('start');
    // Every helper (topics, producer, reply reader) talks to this file's own broker.
    process.env.AMH_KAFKA_BROKERS = `127.0.0.1:${PORT}`;
    t = await startTestService(
      { ...slowHandler(join(dir, 'slow')), http: { port: 0, probe_interval: '500ms' } },
      { plugins: PLUGINS_WITH_SLOW },
    );
  });

  afterAll(async () => {
    await t?.stop();
    await kafka('stop');
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns not ready with the broker as the reason, then ready again, and still answers events', { timeout: 300_000 }, async () => {
    const service = (t as TestService).service;
    const readyz = () => getJson<Health>(`${baseUrl(service)}/readyz`);
    await eventually('ready at first', async () => (await readyz()).status === 200);

    await kafka('stop');
    const down = await eventually('not ready after the broker stopped', async () => {
      const r = await readyz();
      return r.status === 503 && r;
    }, 30_000);
    expect(down.body.status).toBe('not ready');
    expect(down.body.checks.broker?.ok).toBe(false);
    expect(down.body.checks.broker?.reason).toMatch(/broker/);
    expect(down.body.reasons.some((r) => r.startsWith('broker: '))).toBe(true);
    // Not ready is not dead: the process and its loops are fine, so nothing should restart it.
    expect((await getJson<Health>(`${baseUrl(service)}/healthz`)).status).toBe(200);

    await kafka('start');
    const up = await eventually('ready again after the broker came back', async () => {
      const r = await readyz();
      return r.status === 200 && r;
    }, 120_000);
    expect(up.body).toMatchObject({ status: 'ready', reasons: [] });
    expect(service.state).toBe('running');

    const event = slowEvent('after-restart', 'REDEEM', 1, 0);
    await (t as TestService).send(event);
    const [reply] = await (t as TestService).replies(1);
    expect(reply).toMatchObject({ event_id: event.event_id, outcome: 'OK' });
  });
});
