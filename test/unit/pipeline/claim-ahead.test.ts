import { describe, expect, it } from 'vitest';
import type { SliverEvent } from '../../../src/codec/types.js';
import { buildResult } from '../../../src/results/builder.js';
import { pipelineHarness, tick } from '../../helpers/pipeline.js';

/** A handler that holds every operation until `open()` is called. */
function gated() {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  return {
    open: () => open(),
    execute: async (event: SliverEvent) => {
      await gate;
      return buildResult(event, { outcome: 'OK', message: 'done', startedAt: 1, finishedAt: 2 });
    },
  };
}

// consumer.claim_ahead: leases taken while events wait for a slot, so the claim's round trip holds no slot.
describe('claiming leases ahead of a slot', () => {
  it('events waiting for a slot hold their lease already, at most claim_ahead of them; all run once and end with no mark', async () => {
    const handler = gated();
    const h = pipelineHarness({ concurrency: 1, claimAhead: 2, execute: handler.execute });
    const events = [h.event(), h.event(), h.event(), h.event()];
    const fates = events.map((e) => h.handle(e));
    await tick(50);
    const marked = events.map((e) => h.store.get(e.sliver_id)?.in_flight?.event_id ?? null);
    // The first runs (its lease was taken ahead too), two more wait with theirs, the last waits without one.
    expect(h.lanes.running).toBe(1);
    expect(marked.filter((m) => m !== null)).toHaveLength(3);
    expect(marked.filter((m) => m === null)).toHaveLength(1);
    expect(h.pipeline.claimedAhead).toBe(2);
    handler.open();
    expect(await Promise.all(fates)).toEqual(['answered', 'answered', 'answered', 'answered']);
    expect(h.executed.map((e) => e.event_id).sort()).toEqual(events.map((e) => e.event_id).sort());
    expect(events.map((e) => h.store.get(e.sliver_id)?.in_flight ?? null)).toEqual([null, null, null, null]);
    expect(h.pipeline.claimedAhead).toBe(0);
  });

  it('with claim_ahead 0 an event waiting for a slot holds no lease', async () => {
    const handler = gated();
    const h = pipelineHarness({ concurrency: 1, claimAhead: 0, execute: handler.execute });
    const [first, second] = [h.event(), h.event()];
    const fates = [h.handle(first), h.handle(second)];
    await tick(50);
    expect(h.store.get(first.sliver_id)?.in_flight?.event_id).toBe(first.event_id);
    expect(h.store.get(second.sliver_id)).toBeUndefined();
    handler.open();
    expect(await Promise.all(fates)).toEqual(['answered', 'answered']);
  });

  it('a partition revoked while its event waits with a lease gives the lease back and runs nothing', async () => {
    const handler = gated();
    const h = pipelineHarness({ concurrency: 1, claimAhead: 1, execute: handler.execute });
    const [first, second] = [h.event(), h.event()];
    const owned = new AbortController();
    const running = h.handle(first);
    await tick(30); // the first holds the only slot
    const fates = [running, h.handle(second, owned.signal)];
    await tick(30);
    expect(h.store.get(second.sliver_id)?.in_flight?.event_id).toBe(second.event_id);
    owned.abort();
    handler.open();
    expect(await Promise.all(fates)).toEqual(['answered', 'revoked']);
    expect(h.executed.map((e) => e.event_id)).toEqual([first.event_id]);
    expect(h.store.get(second.sliver_id)?.in_flight).toBeNull();
  });

  it('a shutdown past its grace while an event waits with a lease gives the lease back and leaves the event for the restart', async () => {
    const handler = gated();
    const h = pipelineHarness({ concurrency: 1, claimAhead: 1, execute: handler.execute });
    const [first, second] = [h.event(), h.event()];
    const running = h.handle(first);
    await tick(30); // the first holds the only slot
    const fates = [running, h.handle(second)];
    await tick(30);
    expect(h.store.get(second.sliver_id)?.in_flight?.event_id).toBe(second.event_id);
    h.cancel.abort(new Error('shutdown grace over'));
    handler.open();
    const [one, two] = await Promise.allSettled(fates);
    expect(one.status).toBe('fulfilled');
    expect(two).toMatchObject({ status: 'rejected', reason: { code: 'ABANDONED' } });
    expect(h.executed.map((e) => e.event_id)).toEqual([first.event_id]);
    expect(h.store.get(second.sliver_id)?.in_flight).toBeNull();
    expect(h.replies.map((r) => r.event_id)).not.toContain(second.event_id);
  });
});
