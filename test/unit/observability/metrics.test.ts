import { describe, expect, it } from 'vitest';
import type { DriftReport, SliverEvent, SliverResult } from '../../../src/codec/types.js';
import { TypedEmitter, type ServiceEvents } from '../../../src/observability/events.js';
import { createServiceMetrics, type MetricsView } from '../../../src/observability/metrics.js';
import { parseMetrics, valueOf } from '../../helpers/http.js';

const event = (over: Partial<SliverEvent> = {}): SliverEvent =>
  ({ event_id: 'ev-secret-1', sliver_id: 'sliver-secret-1', resource_type: 'VM', operation: 'REDEEM', sequence: 1, ...over }) as SliverEvent;
const result = (outcome: SliverResult['outcome'], durationMs: number, over: Partial<SliverResult> = {}): SliverResult =>
  ({ event_id: 'ev-secret-1', sliver_id: 'sliver-secret-1', resource_type: 'VM', operation: 'REDEEM', outcome, duration_ms: durationMs, ...over }) as SliverResult;

function setup(view: Partial<MetricsView> = {}) {
  const events = new TypedEmitter<ServiceEvents>();
  const metrics = createServiceMetrics({
    events,
    resourceTypes: ['VM', 'L2PTP'],
    processMetrics: false,
    view: {
      running: () => 2,
      queued: () => 5,
      owned: () => [0, 2],
      paused: () => [2],
      lag: () => new Map([[0, 7], [2, 0]]),
      uncommitted: (p) => (p === 0 ? 3 : 0),
      brokerReachable: () => true,
      ready: () => false,
      ...view,
    },
  });
  const read = async () => {
    const text = await metrics.registry.metrics();
    return { text, samples: parseMetrics(text) };
  };
  return { events, metrics, read };
}

describe('service metrics', () => {
  it('counts reconciliation probes by outcome, drift reports by kind and resource type, repairs by action and outcome', async () => {
    const { events, read } = setup();
    const report: DriftReport = { kind: 'DRIFT', sliver_id: 'sliver-secret-1', slice_id: null, resource_type: 'VM', handler: 'vm', observed: 'MISSING', differences: [], expected: null, found: null, applied_event_id: null, applied_sequence: null, detected_at: 0, instance: 'i', repair: null };
    events.emit('probed', { sliverId: 'sliver-secret-1', resourceType: 'VM', outcome: 'drift', durationMs: 5 });
    events.emit('probed', { sliverId: 'sliver-secret-2', resourceType: 'VM', outcome: 'busy', durationMs: 0 });
    events.emit('probed', { sliverId: 'sliver-secret-3', resourceType: 'VM', outcome: 'busy', durationMs: 0 });
    events.emit('drift', { report });
    events.emit('drift', { report: { ...report, resource_type: 'Made<Up>' } });
    events.emit('drift', { report: { ...report, repair: { action: 'RECREATE', outcome: 'OK', event_id: 'amh-repair:x:1', message: '' } } });
    const { text, samples } = await read();
    expect(valueOf(samples, 'amh_reconcile_probes_total', { outcome: 'drift' })).toBe(1);
    expect(valueOf(samples, 'amh_reconcile_probes_total', { outcome: 'busy' })).toBe(2);
    expect(valueOf(samples, 'amh_drift_reports_total', { kind: 'DRIFT', resource_type: 'VM' })).toBe(1);
    expect(valueOf(samples, 'amh_drift_reports_total', { kind: 'DRIFT', resource_type: 'unknown' })).toBe(1);
    expect(valueOf(samples, 'amh_repairs_total', { action: 'RECREATE', outcome: 'OK' })).toBe(1);
    expect(text).not.toContain('secret');
  });

  it('maps the typed events to counters and histograms, with bounded labels and no ids', async () => {
    const { events, read } = setup();
    events.emit('queued', { event: event(), topic: 't', partition: 0, offset: '1' });
    events.emit('queued', { event: event({ operation: 'CLOSE' }), topic: 't', partition: 0, offset: '2' });
    events.emit('finished', { event: event(), result: result('OK', 2_500) });
    events.emit('finished', { event: event(), result: result('FAILED', 4_000_000) }); // over an hour
    events.emit('finished', { event: event({ resource_type: 'Made<Up>-type-42' }), result: result('REJECTED', 1) });
    events.emit('result', { result: result('OK', 2_500), replayed: false, topic: 't', partition: 0, offset: '1' });
    events.emit('result', { result: result('OK', 2_500), replayed: true, topic: 't', partition: 0, offset: '3' });
    events.emit('playbookRun', { playbook: 'vm_create.yml', outcome: 'ok', exitCode: 0, durationMs: 1200 });
    events.emit('playbookRun', { playbook: 'vm_create.yml', outcome: 'timed_out', exitCode: null, durationMs: 900_000 });
    events.emit('deadLettered', { topic: 't', partition: 0, offset: '4', reason: 'junk' });
    events.emit('retry', { what: 'publishing the reply', error: new Error('x') });
    events.emit('retry', { what: 'publishing the reply', error: new Error('x') });
    events.emit('retry', { what: 'claiming the lease', error: new Error('x') });
    events.emit('retry', { what: 'something new', error: new Error('x') });
    events.emit('ledgerRestored', { partition: 0, durationMs: 1500, applied: 10 });
    events.emit('consumerCrashed', { error: new Error('x'), restart: true });
    const { text, samples } = await read();

    expect(valueOf(samples, 'amh_events_consumed_total', { operation: 'REDEEM' })).toBe(1);
    expect(valueOf(samples, 'amh_events_consumed_total', { operation: 'CLOSE' })).toBe(1);
    expect(valueOf(samples, 'amh_handler_runs_total', { resource_type: 'VM', operation: 'REDEEM', outcome: 'OK' })).toBe(1);
    expect(valueOf(samples, 'amh_handler_runs_total', { resource_type: 'VM', operation: 'REDEEM', outcome: 'FAILED' })).toBe(1);
    expect(valueOf(samples, 'amh_handler_runs_total', { resource_type: 'unknown', outcome: 'REJECTED' })).toBe(1);
    const bucket = (le: string, outcome = 'OK') => valueOf(samples, 'amh_handler_run_duration_seconds_bucket', { resource_type: 'VM', outcome, le });
    expect([bucket('2'), bucket('5'), bucket('3600'), bucket('+Inf')]).toEqual([0, 1, 1, 1]);
    expect([bucket('3600', 'FAILED'), bucket('+Inf', 'FAILED')]).toEqual([0, 1]);
    expect(valueOf(samples, 'amh_handler_run_duration_seconds_sum', { resource_type: 'VM', outcome: 'OK' })).toBe(2.5);
    expect(valueOf(samples, 'amh_replies_total', { outcome: 'OK', replayed: 'false' })).toBe(1);
    expect(valueOf(samples, 'amh_replies_total', { outcome: 'OK', replayed: 'true' })).toBe(1);
    expect(valueOf(samples, 'amh_playbook_runs_total', { playbook: 'vm_create.yml', outcome: 'ok', exit_code: '0' })).toBe(1);
    expect(valueOf(samples, 'amh_playbook_runs_total', { playbook: 'vm_create.yml', outcome: 'timed_out', exit_code: 'none' })).toBe(1);
    expect(valueOf(samples, 'amh_dead_letters_total')).toBe(1);
    expect(valueOf(samples, 'amh_reply_publish_failures_total')).toBe(2);
    expect(valueOf(samples, 'amh_step_retries_total', { step: 'reply' })).toBe(2);
    expect(valueOf(samples, 'amh_step_retries_total', { step: 'lease_claim' })).toBe(1);
    expect(valueOf(samples, 'amh_step_retries_total', { step: 'other' })).toBe(1);
    expect(valueOf(samples, 'amh_ledger_restore_duration_seconds_sum')).toBe(1.5);
    expect(valueOf(samples, 'amh_consumer_crashes_total', { restart: 'true' })).toBe(1);
    expect(text).not.toMatch(/secret|Made<Up>/);
    expect(samples.every((s) => s.name.startsWith('amh_'))).toBe(true);
  });

  it('reads the gauges from the view at scrape time', async () => {
    let lag = new Map([[0, 7], [2, 0]]);
    let reachable: boolean | null = null;
    const { read } = setup({ lag: () => lag, brokerReachable: () => reachable });
    let { samples } = await read();
    expect(valueOf(samples, 'amh_operations_in_flight')).toBe(2);
    expect(valueOf(samples, 'amh_operations_queued')).toBe(5);
    expect(valueOf(samples, 'amh_partitions_owned')).toBe(2);
    expect(valueOf(samples, 'amh_partitions_paused')).toBe(1);
    expect(valueOf(samples, 'amh_consumer_lag', { partition: '0' })).toBe(7);
    expect(valueOf(samples, 'amh_uncommitted_offsets', { partition: '0' })).toBe(3);
    expect(valueOf(samples, 'amh_uncommitted_offsets', { partition: '2' })).toBe(0);
    expect(valueOf(samples, 'amh_broker_reachable')).toBe(0); // no probe yet
    expect(valueOf(samples, 'amh_ready')).toBe(0);
    // A partition no longer owned disappears instead of keeping its last value.
    lag = new Map([[2, 4]]);
    reachable = true;
    ({ samples } = await read());
    expect(valueOf(samples, 'amh_consumer_lag', { partition: '0' })).toBeUndefined();
    expect(valueOf(samples, 'amh_consumer_lag', { partition: '2' })).toBe(4);
    expect(valueOf(samples, 'amh_broker_reachable')).toBe(1);
  });

  it('includes the process metrics by default, prefixed, and stops counting once detached', async () => {
    const events = new TypedEmitter<ServiceEvents>();
    const view = { running: () => 0, queued: () => 0, owned: () => [], paused: () => [], lag: () => new Map(), uncommitted: () => 0, brokerReachable: () => null, ready: () => true };
    const metrics = createServiceMetrics({ events, resourceTypes: [], view });
    expect(await metrics.registry.metrics()).toContain('amh_process_resident_memory_bytes');
    metrics.detach();
    events.emit('deadLettered', { topic: 't', partition: 0, offset: '1', reason: 'x' });
    expect(valueOf(parseMetrics(await metrics.registry.metrics()), 'amh_dead_letters_total')).toBe(0);
  });
});
