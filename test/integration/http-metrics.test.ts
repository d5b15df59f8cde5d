// /metrics, /healthz and /readyz of a real service on the test broker, running real ansible-playbook.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseUrl, eventually, getJson, scrape, valueOf } from '../helpers/http.js';
import { produceRaw } from '../helpers/kafka.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, slowEvent, slowHandler } from '../helpers/slow.js';

describe('metrics and health endpoints', () => {
  let t: TestService;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amh-http-metrics-'));
    t = await startTestService({ ...slowHandler(join(dir, 'slow')), http: { port: 0, probe_interval: '500ms' } }, { plugins: PLUGINS_WITH_SLOW });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('is ready once joined and restored, and counts what happened per outcome without ids in labels', async () => {
    const url = baseUrl(t.service);
    const ready = await eventually('/readyz ready', async () => {
      const r = await getJson<{ status: string; checks: Record<string, { ok: boolean }> }>(`${url}/readyz`);
      return r.status === 200 && r;
    });
    expect(ready.body.status).toBe('ready');
    expect(Object.keys(ready.body.checks).sort()).toEqual(['broker', 'group', 'ledgers', 'playbooks', 'producer', 'service']);
    const health = await getJson(`${url}/healthz`);
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });

    const first = slowEvent('metrics-a', 'REDEEM', 5, 0);
    const events = [
      first,
      slowEvent('metrics-b', 'REDEEM', 1, 0),
      slowEvent('metrics-c', 'REDEEM', 1, -1), // time.sleep(-1) fails the task: FAILED (after its cleanup run)
      { ...slowEvent('metrics-d', 'REDEEM', 1, 0), resource_type: 'Nope' }, // no such handler: REJECTED
    ];
    await t.send(...events);
    const answered = await t.replies(4);
    expect(answered.map((r) => r.outcome).sort()).toEqual(['FAILED', 'OK', 'OK', 'REJECTED']);
    const stale = slowEvent('metrics-a', 'MODIFY', 3, 0); // older than sequence 5, already applied: STALE, nothing runs
    await t.send(stale);
    await produceRaw(t.topics.events, [{ key: 'junk', value: Buffer.from('not an avro event') }]);
    await t.deadLetters(1);
    expect((await t.replies(5)).map((r) => r.outcome)).toContain('STALE');

    // Counters move when the events are published: wait for the last ones, then read everything from one scrape.
    const { text, samples } = await eventually('every count on /metrics', async () => {
      const s = await scrape(t.service);
      return valueOf(s.samples, 'amh_dead_letters_total') === 1 && valueOf(s.samples, 'amh_replies_total', { outcome: 'STALE' }) === 1 && s;
    });
    const runs = (resource_type: string, operation: string, outcome: string) => valueOf(samples, 'amh_handler_runs_total', { resource_type, operation, outcome });
    expect(runs('Slow', 'REDEEM', 'OK')).toBe(2);
    expect(runs('Slow', 'REDEEM', 'FAILED')).toBe(1);
    // The unknown type is tenant input: it is counted, under `unknown`, never as a label value of its own.
    expect(runs('unknown', 'REDEEM', 'REJECTED')).toBe(1);
    expect(samples.some((s) => Object.values(s.labels).includes('Nope'))).toBe(false);
    expect(valueOf(samples, 'amh_handler_runs_total', { outcome: 'STALE' })).toBeUndefined(); // answered without running
    expect(valueOf(samples, 'amh_handler_run_duration_seconds_count', { resource_type: 'Slow', operation: 'REDEEM', outcome: 'OK' })).toBe(2);
    expect(valueOf(samples, 'amh_handler_run_duration_seconds_bucket', { resource_type: 'Slow', operation: 'REDEEM', outcome: 'OK', le: '3600' })).toBe(2);

    expect(valueOf(samples, 'amh_events_consumed_total', { operation: 'REDEEM' })).toBe(4);
    expect(valueOf(samples, 'amh_events_consumed_total', { operation: 'MODIFY' })).toBe(1);
    for (const [outcome, n] of [['OK', 2], ['FAILED', 1], ['REJECTED', 1], ['STALE', 1]] as const) {
      expect(valueOf(samples, 'amh_replies_total', { outcome, replayed: 'false' }), outcome).toBe(n);
    }
    // Two OK runs plus the failed create's cleanup run; the failed run exits 2 (a failed host).
    expect(valueOf(samples, 'amh_playbook_runs_total', { playbook: 'slow_item.yml', outcome: 'ok', exit_code: '0' })).toBe(3);
    expect(valueOf(samples, 'amh_playbook_runs_total', { playbook: 'slow_item.yml', outcome: 'failed', exit_code: '2' })).toBe(1);
    expect(valueOf(samples, 'amh_ledger_restore_duration_seconds_count')).toBe(1);
    expect(valueOf(samples, 'amh_operations_in_flight')).toBe(0);
    expect(valueOf(samples, 'amh_partitions_owned')).toBe(1);
    expect(valueOf(samples, 'amh_partitions_paused')).toBe(0);
    expect(valueOf(samples, 'amh_broker_reachable')).toBe(1);
    expect(valueOf(samples, 'amh_ready')).toBe(1);
    expect(valueOf(samples, 'amh_reply_publish_failures_total')).toBe(0);
    expect(valueOf(samples, 'amh_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    for (const e of [...events, stale]) {
      expect(text).not.toContain(String(e.sliver_id));
      expect(text).not.toContain(String(e.event_id));
    }

    // Lag and uncommitted offsets come back to 0 once everything is committed and the probe has sampled it.
    await eventually('lag 0 after the commit', async () => {
      const s = (await scrape(t.service)).samples;
      return valueOf(s, 'amh_consumer_lag', { partition: '0' }) === 0 && valueOf(s, 'amh_uncommitted_offsets', { partition: '0' }) === 0;
    });
  });
});
