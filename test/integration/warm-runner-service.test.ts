// The warm runner inside a real service (per-handler switch, metrics), on the test broker with the sim VM playbooks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmEvent } from '../helpers/events.js';
import { eventually, scrape, valueOf } from '../helpers/http.js';
import { startTestService, type TestService } from '../helpers/service.js';

describe('warm runner in the service', () => {
  let t: TestService;

  beforeAll(async () => {
    // On for the VM handler only, whatever the suite-wide default is.
    t = await startTestService({ runtime: { warm_runner: { enabled: false } }, handlers: { vm: { warm_runner: true } } });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('runs a VM create through the zygote, reports the zygote\'s memory, and stops it with the service', async () => {
    const pool = t.service.warmPool;
    expect(pool).not.toBeNull();
    await pool?.whenReady(120_000);
    const created = vmEvent();
    await t.send(created);
    const [reply] = await t.replies(1);
    expect(reply?.outcome, reply?.message).toBe('OK');
    expect(t.vm(`${String(created.sliver_id)}-node1`)).toMatchObject({ state: 'ACTIVE' });
    const { samples } = await eventually('warm launches counted', async () => {
      const s = await scrape(t.service);
      return (valueOf(s.samples, 'amh_playbook_launches_total', { via: 'warm' }) ?? 0) > 0 && s;
    });
    expect(valueOf(samples, 'amh_playbook_launches_total', { via: 'spawn' }) ?? 0).toBe(0);
    expect(valueOf(samples, 'amh_warm_zygotes_ready')).toBe(1);
    const rss = valueOf(samples, 'amh_warm_zygote_rss_bytes', { slot: '0' }) ?? 0;
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(rss).toBeLessThan(512 * 1024 * 1024);
    const pids = pool?.pids() ?? [];
    await t.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  }, 180_000);
});
