import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type DriftReport, type SliverEvent, type SliverLedger, type SliverResult } from '../../../src/codec/index.js';
import { FatalError } from '../../../src/errors/index.js';
import { TypedEmitter, type ServiceEvents } from '../../../src/observability/events.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { RunningOps } from '../../../src/pipeline/running.js';
import { Reconciler, type ReconcilerOptions } from '../../../src/reconcile/reconciler.js';
import { probeSlots, probeTime } from '../../../src/reconcile/schedule.js';
import { buildResult } from '../../../src/results/builder.js';
import { emptyLedger, recordAnswer } from '../../../src/state/ledger.js';
import { vmEvent } from '../../helpers/events.js';
import type { pipelineHarness } from '../../helpers/pipeline.js';

type PipelineHarness = ReturnType<typeof pipelineHarness>;

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const event = (o: Record<string, unknown>): SliverEvent => codec.complete<'event'>(catalog.current('event'), vmEvent(o as never));
const LIMITS = { entries: 64, replies: 4 };
const state = (observed: 'EXISTS' | 'MISSING') => ({ instance_name: 'vm', management_ip: '10.0.0.2', observed, details: observed === 'MISSING' ? 'gone' : null });

/** The ledger of a sliver created OK (applied event and reply encoded as the gate stores them). */
function created(sliverId: string): SliverLedger {
  const redeem = event({ sliver_id: sliverId, event_id: `r-${sliverId}` });
  const reply = codec.encode('result', buildResult(redeem, { outcome: 'OK', message: 'ok', startedAt: 0, finishedAt: 1, sliver: state('EXISTS') }));
  return recordAnswer(emptyLedger(sliverId), redeem, { outcome: 'OK', reply, ran: true, event: codec.encode('event', redeem) }, 'me', 1, LIMITS);
}

function harness(slivers: string[], execute: ReconcilerOptions['execute'], extra: Partial<ReconcilerOptions> = {}) {
  const ledgers = new Map(slivers.map((id) => [id, created(id)]));
  const running = new RunningOps(true);
  const events = new TypedEmitter<ServiceEvents>();
  const probed: Record<string, string> = {};
  const drift: DriftReport[] = [];
  const published: DriftReport[] = [];
  events.on('probed', (p) => (probed[p.sliverId] = p.outcome));
  events.on('drift', ({ report }) => drift.push(report));
  const fatal: FatalError[] = [];
  const reconciler = new Reconciler({
    store: { ledgersOf: () => ledgers.values(), get: (id) => ledgers.get(id) },
    partitions: () => [0],
    owns: () => true,
    running,
    execute,
    withSlot: (task) => task(new AbortController().signal),
    codec,
    handlerOf: () => ({ name: 'vm', repair: { missing: false, degraded: false, orphans: false, orphan_grace: 3_600_000 }, canProbe: true }),
    publish: async (r) => void published.push(r),
    repair: async () => {
      throw new Error('repair is off');
    },
    intervalMs: 300,
    maxProbes: 2,
    instanceId: 'me',
    topic: 'events',
    logger: silentLogger(),
    events,
    onFatal: (err) => fatal.push(err),
    ...extra,
  });
  return { reconciler, running, probed, drift, published, fatal, ledgers };
}

const answer = (e: SliverEvent, observed: 'EXISTS' | 'MISSING'): SliverResult =>
  buildResult(e, { outcome: 'OK', message: observed, startedAt: 0, finishedAt: 1, sliver: state(observed) });

describe('Reconciler', () => {
  it('never probes a sliver with an event queued or running; an event that arrives during a probe interrupts it and nothing is reported', async () => {
    const executed: string[] = [];
    const h = harness(['queued', 'running', 'arriving', 'gone', 'fine'], async (e, { signal }) => {
      executed.push(e.sliver_id);
      if (e.sliver_id === 'arriving') {
        h.running.hold('arriving'); // its event is handed over by the consumer while the probe runs
        expect(signal.aborted).toBe(true); // the playbook is killed through this signal
        return answer(e, 'MISSING');
      }
      return answer(e, e.sliver_id === 'gone' ? 'MISSING' : 'EXISTS');
    });
    h.running.hold('queued');
    h.running.start(event({ sliver_id: 'running' }), 0);
    await h.reconciler.pass();
    expect(executed.sort()).toEqual(['arriving', 'fine', 'gone']);
    expect(h.probed).toEqual({ queued: 'busy', running: 'busy', arriving: 'interrupted', gone: 'drift', fine: 'in_sync' });
    expect(h.drift.map((d) => [d.sliver_id, d.observed, d.differences])).toEqual([['gone', 'MISSING', ['sliver MISSING: gone']]]);
    expect(h.published).toEqual(h.drift);
    expect(h.published[0]).toMatchObject({ kind: 'DRIFT', handler: 'vm', applied_event_id: 'r-gone', applied_sequence: 1, instance: 'me', repair: null });
    // A repair off by policy is not attempted (the fake repair would throw).
    expect(h.fatal).toEqual([]);
  });

  it('skips a sliver another instance holds a live lease on, and a closed one', async () => {
    const executed: string[] = [];
    const h = harness(['leased', 'closed'], async (e) => (executed.push(e.sliver_id), answer(e, 'EXISTS')));
    const leased = h.ledgers.get('leased')!;
    h.ledgers.set('leased', { ...leased, in_flight: { event_id: 'x', sequence: 2, operation: 'MODIFY', owner: 'other', started_at: Date.now(), expires_at: Date.now() + 60_000 } });
    h.ledgers.set('closed', recordAnswer(h.ledgers.get('closed')!, event({ sliver_id: 'closed', event_id: 'c', sequence: 2, operation: 'CLOSE' }), { outcome: 'OK', reply: Buffer.from('x'), ran: true }, 'me', 2, LIMITS));
    await h.reconciler.pass();
    expect(executed).toEqual([]);
    expect(h.probed).toEqual({ leased: 'busy' });
  });

  it('does not probe a sliver closed (or changed) while its probe waited for a slot or a quiet moment, and says nothing of it', async () => {
    const answeredMeanwhile = {
      // Its CLOSE was answered while the probe waited.
      closing: (l: SliverLedger) => recordAnswer(l, event({ sliver_id: 'closing', event_id: 'c', sequence: 2, operation: 'CLOSE' }), { outcome: 'OK', reply: Buffer.from('x'), ran: true }, 'me', 2, LIMITS),
      // A MODIFY was answered while the probe waited: the state the probe would judge against is gone.
      modified: (l: SliverLedger) => {
        const modify = event({ sliver_id: 'modified', event_id: 'm', sequence: 2, operation: 'MODIFY' });
        const reply = codec.encode('result', answer(modify, 'EXISTS'));
        return recordAnswer(l, modify, { outcome: 'OK', reply, ran: true, event: codec.encode('event', modify) }, 'me', 2, LIMITS);
      },
    };
    for (const [id, meanwhile] of Object.entries(answeredMeanwhile)) {
      const executed: string[] = [];
      const h = harness([id], async (e) => (executed.push(e.sliver_id), answer(e, 'EXISTS')), {
        withSlot: async (task) => {
          h.ledgers.set(id, meanwhile(h.ledgers.get(id)!));
          return task(new AbortController().signal);
        },
      });
      await h.reconciler.pass();
      expect(executed, id).toEqual([]);
      expect(h.probed, id).toEqual({});
    }
  });

  it('holds at most maxProbes probes at once', async () => {
    let now = 0;
    let peak = 0;
    const h = harness(['a', 'b', 'c', 'd', 'e', 'f'], async (e) => {
      peak = Math.max(peak, ++now);
      await new Promise((r) => setTimeout(r, 120));
      now--;
      return answer(e, 'EXISTS');
    }, { maxProbes: 2, intervalMs: 60 });
    await h.reconciler.pass();
    await h.reconciler.stop();
    expect(Object.keys(h.probed).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(peak).toBe(2);
  });

  it('is supervised: a crashing pass is logged and restarted, and too many crashes in a row are fatal', async () => {
    let calls = 0;
    const h = harness([], async (e) => answer(e, 'EXISTS'), { maxCrashes: 2, partitions: () => { calls++; throw new Error('store gone'); } });
    h.reconciler.start();
    const deadline = Date.now() + 5_000;
    while (h.fatal.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(2);
    expect(h.fatal[0]?.message).toBe('the reconciler crashed 2 times in a row: store gone');
    await h.reconciler.stop();
  });

  it('stop() kills a running probe and is idempotent', async () => {
    let seen: AbortSignal | null = null;
    const h = harness(['a'], (e, { signal }) => {
      seen = signal;
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve(answer(e, 'MISSING'))));
    }, { intervalMs: 10 });
    h.reconciler.start();
    while (!seen) await new Promise((r) => setTimeout(r, 5));
    const first = h.reconciler.stop();
    expect(h.reconciler.stop()).toBe(first);
    await first;
    expect((seen as AbortSignal | null)?.aborted).toBe(true);
    expect(h.drift).toEqual([]); // a probe cut short reports nothing
  });
});

describe('schedule', () => {
  it('spreads a pass evenly: each sliver in the middle of its share of the interval', () => {
    expect([0, 1, 2, 3].map((i) => probeTime(1_000, i, 4, 3_600_000))).toEqual([1_000 + 450_000, 1_000 + 1_350_000, 1_000 + 2_250_000, 1_000 + 3_150_000]);
    expect(probeTime(0, 0, 0, 100)).toBe(50);
  });

  it('probe slots: a share of the concurrency, at least one', () => {
    expect(probeSlots(10, 0.2)).toBe(2);
    expect(probeSlots(4, 0.2)).toBe(1);
    expect(probeSlots(10, 1)).toBe(10);
  });
});

/** A pipeline harness whose events answer OK (the VM EXISTS) at once, except those `blocks` picks: they wait for `release()`. */
async function blockingHarness(concurrency: number, blocks: (e: SliverEvent) => boolean) {
  const { pipelineHarness } = await import('../../helpers/pipeline.js');
  let release: () => void = () => undefined;
  const blocked = new Promise<void>((r) => (release = r));
  const h = pipelineHarness({
    concurrency,
    execute: async (e) => {
      if (blocks(e)) await blocked;
      return buildResult(e, { outcome: 'OK', message: 'ok', startedAt: 0, finishedAt: 1, sliver: state('EXISTS') });
    },
  });
  return { h, release };
}

/** A reconciler over slivers of a pipeline harness, probing through its lanes as the service does. */
function besidePipeline(h: PipelineHarness, slivers: string[], execute: ReconcilerOptions['execute'], intervalMs: number, quietMs?: number) {
  const events = new TypedEmitter<ServiceEvents>();
  const outcomes: string[] = [];
  events.on('probed', (p) => outcomes.push(`${p.sliverId} ${p.outcome}`));
  const reconciler = new Reconciler({
    store: { ledgersOf: () => slivers.map((id) => h.store.get(id)!), get: (id) => h.store.get(id) },
    partitions: () => [0],
    owns: () => true,
    running: h.running,
    execute,
    withSlot: (task, options) => h.lanes.withBackgroundSlot(task, options),
    ...(quietMs === undefined ? {} : { waitForQuiet: (until: number, signal: AbortSignal) => h.lanes.quiet(quietMs, until, signal, 5) }),
    codec: h.codec,
    handlerOf: () => ({ name: 'vm', repair: { missing: false, degraded: false, orphans: false, orphan_grace: 3_600_000 }, canProbe: true }),
    publish: async () => undefined,
    repair: async () => ({ action: 'RECREATE', outcome: 'SKIPPED', event_id: null, message: '' }),
    intervalMs,
    maxProbes: 1,
    instanceId: 'me',
    topic: 'events',
    logger: silentLogger(),
    events,
    onFatal: () => undefined,
  });
  return { reconciler, outcomes };
}

describe('Reconciler beside the pipeline (fakes for Kafka and the playbooks)', () => {
  it('never probes a sliver whose event is queued (waiting for a slot) or running; probes both once they are answered', async () => {
    const { h, release } = await blockingHarness(1, (e) => e.operation === 'MODIFY');
    await h.handle(h.event({ sliver_id: 'S', event_id: 'rS', sequence: 1 }));
    await h.handle(h.event({ sliver_id: 'T', event_id: 'rT', sequence: 1 }));
    const probes: string[] = [];
    const { reconciler, outcomes } = besidePipeline(h, ['S', 'T'], async (e) => (probes.push(e.sliver_id), answer(e, 'EXISTS')), 100);
    const modifyS = h.handle(h.event({ sliver_id: 'S', event_id: 'mS', sequence: 2, operation: 'MODIFY' })); // runs, holding the only slot
    const modifyT = h.handle(h.event({ sliver_id: 'T', event_id: 'mT', sequence: 2, operation: 'MODIFY' })); // queued for the slot
    await new Promise((r) => setTimeout(r, 20));
    await reconciler.pass();
    expect(probes).toEqual([]);
    expect(outcomes).toEqual(['S busy', 'T busy']);
    release();
    await Promise.all([modifyS, modifyT]);
    await reconciler.pass();
    expect(probes).toEqual(['S', 'T']);
    expect(outcomes.slice(2)).toEqual(['S in_sync', 'T in_sync']);
  });
  it('a probe yields its slot to an event: an event that finds every slot taken by probes runs at once, and the probe ends preempted', async () => {
    const { pipelineHarness } = await import('../../helpers/pipeline.js');
    const ran: string[] = [];
    const h = pipelineHarness({
      concurrency: 1,
      execute: async (e) => (ran.push(`${e.operation} ${e.sliver_id}`), buildResult(e, { outcome: 'OK', message: 'ok', startedAt: 0, finishedAt: 1, sliver: state('EXISTS') })),
    });
    await h.handle(h.event({ sliver_id: 'S', event_id: 'rS', sequence: 1 }));
    let probing: () => void = () => undefined;
    const probeStarted = new Promise<void>((r) => (probing = r));
    // A slow probe (a playbook of 3 s) that ends early only when its signal is aborted, as the runner does.
    const slowProbe: ReconcilerOptions['execute'] = (e, { signal }) =>
      new Promise<SliverResult>((resolve) => {
        probing();
        const timer = setTimeout(() => resolve(answer(e, 'EXISTS')), 3_000);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve(buildResult(e, { outcome: 'FAILED', message: 'killed', startedAt: 0, finishedAt: 1 }))));
      });
    const { reconciler, outcomes } = besidePipeline(h, ['S'], slowProbe, 50);
    const pass = reconciler.pass();
    await probeStarted;
    const started = Date.now();
    await h.handle(h.event({ sliver_id: 'T', event_id: 'rT', sequence: 1 })); // another sliver: needs the only slot
    const waited = Date.now() - started;
    await pass;
    await reconciler.stop();
    expect(ran).toEqual(['REDEEM S', 'REDEEM T']);
    expect(waited).toBeLessThan(1_500); // not the probe's 3 s
    expect(outcomes).toEqual(['S preempted']);
  });

  it('probes in quiet moments: not while another sliver\'s event runs (slots free), but once no event ran for the quiet time', async () => {
    const { h, release } = await blockingHarness(4, (e) => e.sliver_id === 'T' && e.operation === 'MODIFY');
    await h.handle(h.event({ sliver_id: 'S', event_id: 'rS', sequence: 1 }));
    await h.handle(h.event({ sliver_id: 'T', event_id: 'rT', sequence: 1 }));
    const modifyT = h.handle(h.event({ sliver_id: 'T', event_id: 'mT', sequence: 2, operation: 'MODIFY' })); // runs; three slots stay free
    let releasedAt = 0;
    const probedAt: number[] = [];
    const { reconciler, outcomes } = besidePipeline(h, ['S'], async (e) => (probedAt.push(Date.now()), answer(e, 'EXISTS')), 2_000, 100);
    const pass = reconciler.pass(); // S is due at 1 s, overdue at 3 s
    await new Promise((r) => setTimeout(r, 1_400));
    expect(probedAt).toEqual([]); // due, but T's event is running
    releasedAt = Date.now();
    release();
    await modifyT;
    await new Promise((r) => setTimeout(r, 400));
    expect(probedAt).toHaveLength(1);
    expect(probedAt[0]! - releasedAt).toBeGreaterThanOrEqual(90); // after the quiet time, not at once
    expect(outcomes).toEqual(['S in_sync']);
    await reconciler.stop();
    await pass.catch(() => undefined);
  });

  it('under a stream with no quiet moment a probe runs anyway once a whole interval late', async () => {
    const { pipelineHarness } = await import('../../helpers/pipeline.js');
    const h = pipelineHarness({
      concurrency: 4,
      execute: async (e) => {
        if (e.sliver_id.startsWith('busy')) await new Promise((r) => setTimeout(r, 30));
        return buildResult(e, { outcome: 'OK', message: 'ok', startedAt: 0, finishedAt: 1, sliver: state('EXISTS') });
      },
    });
    await h.handle(h.event({ sliver_id: 'S', event_id: 'rS', sequence: 1 }));
    // An event every 20 ms (each 30 ms long): never 100 ms without one.
    let streaming = true;
    const stream = (async () => {
      for (let i = 0; streaming; i++) {
        void h.handle(h.event({ sliver_id: `busy-${i}`, event_id: `b${i}`, sequence: 1 }));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const probedAt: number[] = [];
    const started = Date.now();
    const { reconciler, outcomes } = besidePipeline(h, ['S'], async (e) => (probedAt.push(Date.now() - started), answer(e, 'EXISTS')), 600, 100);
    await reconciler.pass(); // S due at 300 ms, overdue at 900 ms; the pass ends at 600 ms, its probe later
    await new Promise((r) => setTimeout(r, 700));
    streaming = false;
    await stream;
    await reconciler.stop();
    expect(probedAt).toHaveLength(1);
    expect(probedAt[0]).toBeGreaterThanOrEqual(850);
    expect(outcomes).toEqual(['S in_sync']);
  });

  it('an event that arrives during an idle-time probe kills it (slots free), and the sliver is probed again at the next quiet moment', async () => {
    const { pipelineHarness } = await import('../../helpers/pipeline.js');
    const h = pipelineHarness({
      concurrency: 4,
      execute: async (e) => buildResult(e, { outcome: 'OK', message: 'ok', startedAt: 0, finishedAt: 1, sliver: state('EXISTS') }),
    });
    await h.handle(h.event({ sliver_id: 'S', event_id: 'rS', sequence: 1 }));
    let attempts = 0;
    let first: () => void = () => undefined;
    const firstStarted = new Promise<void>((r) => (first = r));
    const slowProbe: ReconcilerOptions['execute'] = (e, { signal }) =>
      new Promise<SliverResult>((resolve) => {
        attempts++;
        first();
        const timer = setTimeout(() => resolve(answer(e, 'EXISTS')), 300);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve(buildResult(e, { outcome: 'FAILED', message: 'killed', startedAt: 0, finishedAt: 1 }))));
      });
    const { reconciler, outcomes } = besidePipeline(h, ['S'], slowProbe, 200, 50);
    const pass = reconciler.pass();
    await firstStarted;
    await h.handle(h.event({ sliver_id: 'T', event_id: 'rT', sequence: 1 })); // three slots free: it still comes first
    await pass;
    await new Promise((r) => setTimeout(r, 600));
    await reconciler.stop();
    expect(attempts).toBe(2);
    expect(outcomes).toEqual(['S in_sync']);
  });
});
