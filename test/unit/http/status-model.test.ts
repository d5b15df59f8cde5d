import { describe, expect, it } from 'vitest';
import type { SliverEvent, SliverResult } from '../../../src/codec/types.js';
import { renderPage, scriptJson } from '../../../src/http/page.js';
import { MAX_TEXT, StatusModel } from '../../../src/http/status-model.js';
import { TypedEmitter, type ServiceEvents } from '../../../src/observability/events.js';

const event = (id: string, sliver = `s-${id}`): SliverEvent =>
  ({ event_id: id, sliver_id: sliver, resource_type: 'VM', operation: 'REDEEM', sequence: 1 }) as SliverEvent;
const result = (id: string, outcome: SliverResult['outcome'] = 'OK', message = 'done'): SliverResult =>
  ({ event_id: id, sliver_id: `s-${id}`, resource_type: 'VM', operation: 'REDEEM', outcome, message, duration_ms: 1500, finished_at: 42 }) as SliverResult;

function model(recent = 3) {
  const events = new TypedEmitter<ServiceEvents>();
  const m = new StatusModel({
    events,
    recent,
    now: () => 1000,
    header: () => ({ instance: 'i-1', state: 'running', ready: true, reasons: [], queued: 0 }),
    partitions: () => [{ partition: 0, paused: false, lag: 2, uncommitted: 1, ledgersRestored: true }],
  });
  return { events, m };
}

describe('status page model', () => {
  it('follows an operation from start through its progress to its result', () => {
    const { events, m } = model();
    let changes = 0;
    m.onChange(() => changes++);
    events.emit('started', { event: event('e1') });
    events.emit('progress', { event: event('e1'), playbook: 'vm_create.yml', task: 'boot', host: 'localhost', taskIndex: 2, taskCount: 5, step: 1 });
    expect(m.snapshot().inFlight).toEqual([
      { eventId: 'e1', sliverId: 's-e1', resourceType: 'VM', operation: 'REDEEM', startedAt: 1000, progress: { playbook: 'vm_create.yml', task: 'boot', host: 'localhost', taskIndex: 2, taskCount: 5, step: 1 } },
    ]);
    events.emit('finished', { event: event('e1'), result: result('e1') });
    events.emit('result', { result: result('e1'), replayed: false, topic: 't', partition: 0, offset: '1' });
    const s = m.snapshot();
    expect(s.inFlight).toEqual([]);
    expect(s.results).toEqual([{ eventId: 'e1', sliverId: 's-e1', resourceType: 'VM', operation: 'REDEEM', outcome: 'OK', message: 'done', durationMs: 1500, finishedAt: 42, replayed: false }]);
    expect(s.totals).toEqual({ OK: 1 });
    expect(s.partitions).toHaveLength(1);
    expect(changes).toBe(4);
    expect(s.version).toBe(4);
  });

  it('ignores progress of an operation it does not list', () => {
    const { events, m } = model();
    events.emit('progress', { event: event('ghost'), playbook: 'p.yml', task: 't', host: null, taskIndex: 1, taskCount: null });
    expect(m.snapshot().inFlight).toEqual([]);
  });

  it('keeps only the newest `recent` results and dead letters, newest first, and cuts long text', () => {
    const { events, m } = model(3);
    for (let i = 0; i < 10; i++) {
      events.emit('result', { result: result(`e${i}`, i % 2 ? 'FAILED' : 'OK', 'x'.repeat(10_000)), replayed: false, topic: 't', partition: 0, offset: String(i) });
      events.emit('deadLettered', { topic: 't', partition: 0, offset: String(i), reason: 'y'.repeat(10_000) });
    }
    const s = m.snapshot();
    expect(s.results.map((r) => r.eventId)).toEqual(['e9', 'e8', 'e7']);
    expect(s.deadLetters.map((d) => d.offset)).toEqual(['9', '8', '7']);
    expect(s.results[0]?.message).toHaveLength(MAX_TEXT);
    expect(s.deadLetters[0]?.reason).toHaveLength(MAX_TEXT);
    expect(s.totals).toEqual({ OK: 5, FAILED: 5 }); // totals count everything
  });

  it('stops listening once detached', () => {
    const { events, m } = model();
    m.detach();
    events.emit('started', { event: event('e1') });
    expect(m.snapshot().inFlight).toEqual([]);
  });
});

describe('status page escaping', () => {
  const hostile = '</script><script>window.pwned=1</script><!-- & \u2028';

  it('embeds the snapshot as JSON that cannot end its script element and parses back to the same strings', () => {
    const json = scriptJson({ sliverId: hostile });
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual({ sliverId: hostile });
  });

  it('renders a page where tenant text appears only inside the inert JSON, escaped', () => {
    const { events, m } = model();
    events.emit('started', { event: event('e1', hostile) });
    events.emit('result', { result: { ...result('e2'), message: hostile }, replayed: false, topic: 't', partition: 0, offset: '1' });
    const html = renderPage(m.snapshot());
    expect(html).not.toContain('<script>window.pwned'); // present only as \u003c-escaped JSON text
    expect(html.match(/<\/script>/g)).toHaveLength(2); // the JSON element's and the page script's own
    expect(html).not.toContain('innerHTML'); // the script draws with textContent only
    const embedded = /<script type="application\/json" id="initial">(.*?)<\/script>/s.exec(html)?.[1] ?? '';
    const parsed = JSON.parse(embedded) as { inFlight: { sliverId: string }[]; results: { message: string }[] };
    expect(parsed.inFlight[0]?.sliverId).toBe(hostile);
    expect(parsed.results[0]?.message).toBe(hostile);
  });
});
