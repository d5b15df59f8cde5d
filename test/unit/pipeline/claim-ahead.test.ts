import { describe, expect, it } from 'vitest';
import type { SliverResult } from '../../../src/codec/types.js';
import { buildResult } from '../../../src/results/builder.js';
import { pipelineHarness, tick } from '../../helpers/pipeline.js';

/** A harness whose handler holds sliver 'A' until `release` is called; every other sliver answers at once. */
function blockedOnA() {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const h = pipelineHarness({
    concurrency: 1,
    execute: async (event): Promise<SliverResult> => {
      if (event.sliver_id === 'A') await gate;
      return buildResult(event, { outcome: 'OK', message: 'done', startedAt: 1, finishedAt: 2 });
    },
  });
  return { h, release };
}

/** A running (its handler holds the one slot), then B handed in: resolves once B holds its lease, waiting for the slot. */
async function bClaimedBehindA(h: ReturnType<typeof blockedOnA>['h'], owned?: AbortSignal) {
  const a = h.handle(h.event({ sliver_id: 'A' }));
  await until(() => h.executed.length === 1);
  const b = h.event({ sliver_id: 'B' });
  const fate = h.handle(b, owned);
  await until(() => h.store.get('B')?.in_flight?.event_id === b.event_id);
  return { a, fate };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await tick(5);
  }
}

// The lease is claimed ahead of the slot (README "Concurrency"): a slot goes to an event ready to run.
describe('claiming the lease ahead of a slot', () => {
  it('an event waiting for a slot has its lease already: it runs as soon as the slot is free, with no ledger round trip in the slot', async () => {
    const { h, release } = blockedOnA();
    const { a, fate: answered } = await bClaimedBehindA(h);
    expect(h.executed.map((e) => e.sliver_id)).toEqual(['A']); // claimed, not running: the one slot is A's
    release();
    expect(await a).toBe('answered');
    expect(await answered).toBe('answered');
    expect(h.store.get('B')).toMatchObject({ in_flight: null });
  });

  it('at most twice `concurrency` events hold a claim while they wait for a slot', async () => {
    const { h, release } = blockedOnA();
    const a = h.handle(h.event({ sliver_id: 'A' }));
    await until(() => h.executed.length === 1);
    const others = ['B', 'C', 'D'].map((id) => h.handle(h.event({ sliver_id: id })));
    await until(() => h.store.get('B')?.in_flight != null && h.store.get('C')?.in_flight != null);
    await tick(50);
    expect(h.store.get('D')).toBeUndefined();
    expect(h.lanes.preparing).toBe(2);
    release();
    expect(await Promise.all([a, ...others])).toEqual(['answered', 'answered', 'answered', 'answered']);
    expect(h.lanes.preparing).toBe(0);
  });

  it('revoked while it waited for the slot: the lease is given back, nothing runs, and the event is left to the new owner', async () => {
    const { h, release } = blockedOnA();
    const owned = new AbortController();
    const { a, fate } = await bClaimedBehindA(h, owned.signal);
    owned.abort(new Error('revoked'));
    release();
    expect(await fate).toBe('revoked');
    expect(await a).toBe('answered');
    expect(h.executed.map((e) => e.sliver_id)).toEqual(['A']);
    expect(h.store.get('B')).toMatchObject({ in_flight: null });
    expect(h.replies.map((r) => r.sliver_id)).toEqual(['A']);
  });

  it('shutdown grace over while it waited for the slot: the lease is given back, nothing runs, and the event stays unanswered', async () => {
    const { h, release } = blockedOnA();
    const { a, fate } = await bClaimedBehindA(h);
    h.cancel.abort(new Error('shutdown'));
    release();
    await expect(fate).rejects.toMatchObject({ code: 'ABANDONED' });
    await a;
    expect(h.executed.map((e) => e.sliver_id)).toEqual(['A']);
    expect(h.store.get('B')).toMatchObject({ in_flight: null });
    expect(h.replies.map((r) => r.sliver_id)).not.toContain('B');
  });
});
