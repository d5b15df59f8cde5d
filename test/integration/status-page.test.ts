// The status page in a real headless browser (Debian's chromium driven by playwright-core): events sent to a real
// service show up in flight with their live task progress, then as results, without a reload; tenant input is shown
// as text. A screenshot for humans is written to var/screenshots/ (ignored by git).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/config.js';
import { baseUrl } from '../helpers/http.js';
import { produceRaw } from '../helpers/kafka.js';
import { testRunner } from '../helpers/ansible.js';
import { gpu, vmWith } from '../helpers/sim.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, slowEvent, slowHandler } from '../helpers/slow.js';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS = join(REPO, 'var', 'screenshots');

describe('status page', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amh-status-page-'));
  let t: TestService | undefined;
  let browser: BrowserContext | undefined;

  beforeAll(async () => {
    t = await startTestService(
      { ...slowHandler(join(dir, 'slow')), http: { port: 0, probe_interval: '1s' }, reconcile: { interval: '2s' } },
      { plugins: PLUGINS_WITH_SLOW },
    );
    browser = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The text of every row of a table, one string per row. */
  const rows = (page: Page, table: string) => page.locator(`#${table} tbody tr`).allInnerTexts();

  it('shows events in flight with their progress, then their results, live and as text', async () => {
    const service = (t as TestService).service;
    const page = await (browser as BrowserContext).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${baseUrl(service)}/`);
    await expect.poll(() => page.locator('#connection').innerText(), { timeout: 15_000 }).toBe('live');
    await expect.poll(() => page.locator('#ready').innerText(), { timeout: 30_000 }).toBe('ready');
    // Survives only as long as the page is not reloaded: everything below must arrive over the event stream.
    await page.evaluate("window.noReload = 'still here'");

    const hostile = 'page-<img src=x onerror="window.pwned=1">';
    const slow = slowEvent('page-slow', 'REDEEM', 1, 8);
    const tenant = slowEvent(hostile, 'REDEEM', 1, 8);
    const quick = slowEvent('page-quick', 'REDEEM', 1, 0);
    const unknown = { ...slowEvent('page-unknown', 'REDEEM', 1, 0), resource_type: 'Nope' };
    await (t as TestService).send(slow, tenant, quick, unknown);
    await produceRaw((t as TestService).topics.events, [{ key: 'junk', value: Buffer.from('not an avro event') }]);

    // In flight, with the task the playbook runs now (the slow playbook has one task on localhost).
    await expect
      .poll(async () => (await rows(page, 'in-flight')).find((r) => r.includes('page-slow')), { timeout: 60_000 })
      .toMatch(/page-slow\tSlow\tREDEEM\t.*task 1 of 1\t#1 slow_item\.yml \/ redeem\tlocalhost/s);
    const inFlight = await rows(page, 'in-flight');
    const hostileRow = inFlight.find((r) => r.includes('page-<img'));
    expect(hostileRow, inFlight.join('\n')).toContain(hostile); // the markup, shown as text
    expect(await page.locator('#in-flight img').count()).toBe(0);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'status-page-in-flight.png'), fullPage: true });

    // The quick ones are answered meanwhile; the dead letter shows with its reason.
    await expect.poll(async () => (await rows(page, 'results')).find((r) => r.includes('page-quick')), { timeout: 60_000 }).toMatch(/page-quick\tSlow\tREDEEM\tOK/);
    await expect.poll(async () => (await rows(page, 'results')).find((r) => r.includes('page-unknown')), { timeout: 30_000 }).toMatch(/REJECTED.*no handler for resource type 'Nope'/s);
    await expect.poll(async () => (await rows(page, 'dead-letters')).join('\n'), { timeout: 30_000 }).toMatch(/@\d+\t.+/);

    // Then the slow ones finish: out of flight, into the results.
    await expect.poll(async () => (await rows(page, 'results')).find((r) => r.includes('page-slow')), { timeout: 90_000 }).toMatch(/page-slow\tSlow\tREDEEM\tOK/);
    await expect.poll(async () => (await rows(page, 'results')).find((r) => r.includes('page-<img')), { timeout: 30_000 }).toMatch(/OK/);
    await expect.poll(() => rows(page, 'in-flight'), { timeout: 30_000 }).toEqual(['nothing running']);
    expect(await page.locator('#totals').innerText()).toMatch(/OK 3.*REJECTED 1|REJECTED 1.*OK 3/);
    const partitions = await rows(page, 'partitions');
    expect(partitions).toHaveLength(1);
    expect(partitions[0]).toMatch(/^0\tfetching\t\d+\t\d+\trestored$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'status-page-done.png'), fullPage: true });

    expect(await page.evaluate('window.noReload')).toBe('still here');
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    expect(pageErrors).toEqual([]);
  });

  it('shows recent drift: a VM deleted behind the service appears as MISSING with its differences, live', async () => {
    const amh = t as TestService;
    const page = await (browser as BrowserContext).newPage();
    await page.goto(`${baseUrl(amh.service)}/`);
    await expect.poll(() => page.locator('#connection').innerText(), { timeout: 15_000 }).toBe('live');
    expect(await rows(page, 'drift')).toEqual(['no drift seen']);
    await amh.send(vmWith('page-drift', [gpu()]));
    await expect.poll(async () => (await rows(page, 'results')).find((r) => r.includes('page-drift')), { timeout: 90_000 }).toMatch(/page-drift\tVM\tREDEEM\tOK/);
    const { runner } = await testRunner();
    const deleted = await runner({ playbook: join(REPO, 'playbooks/sim/vm_delete.yml'), extraVars: { sliver_id: 'page-drift', name: 'node1', state_dir: amh.stateDir } });
    expect(deleted.outcome, deleted.stderrTail).toBe('ok');
    await expect
      .poll(async () => (await rows(page, 'drift')).find((r) => r.includes('page-drift')), { timeout: 60_000 })
      .toMatch(/page-drift\tVM\tMISSING\tsliver MISSING: VM page-drift-node1 does not exist/);
    await page.screenshot({ path: join(SCREENSHOTS, 'status-page-drift.png'), fullPage: true });
  });
});
