import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SliverResult } from '../../src/codec/types.js';
import { withAdmin } from '../helpers/kafka.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, processesMentioning, slowEvent, slowHandler, slowItems, slowLog, testRoot } from '../helpers/slow.js';
import { deepMerge, testConfig } from '../helpers/config.js';

// Ordering, bounded concurrency, timeouts, cancellation and shutdown on the
// real broker with real ansible-playbook runs (the `Slow` test plugin).
describe('delivery', () => {
  let amh: TestService | undefined;
  afterEach(async () => {
    await amh?.stop();
    amh = undefined;
  });

  async function start(extra: Record<string, Record<string, unknown>> = {}): Promise<{ amh: TestService; state: string; root: string }> {
    const root = testRoot(testConfig());
    const state = join(root, 'slow');
    const sections = slowHandler(state);
    deepMerge(sections, extra);
    amh = await startTestService(sections, { plugins: PLUGINS_WITH_SLOW });
    return { amh, state, root: testRoot(amh.config) };
  }

  it('runs create, modify and delete of one sliver in order, one at a time', async () => {
    // Without supersession, so the back-to-back CLOSE waits for the create instead of cancelling it.
    const { amh, state } = await start({ consumer: { cancel_create_on_close: false } });
    const events = [slowEvent('ord-1', 'REDEEM', 1, 1), slowEvent('ord-1', 'MODIFY', 2, 0), slowEvent('ord-1', 'CLOSE', 3, 0)];
    await amh.send(...events);
    const replies = await amh.replies(3);
    expect(replies.map((r) => [r.operation, r.outcome, r.sequence])).toEqual([
      ['REDEEM', 'OK', 1],
      ['MODIFY', 'OK', 2],
      ['CLOSE', 'OK', 3],
    ]);
    expect(slowLog(state, 'order.log')).toEqual(['ord-1 REDEEM 1', 'ord-1 MODIFY 2', 'ord-1 CLOSE 3']);
    // Strictly one after the other: each started after the previous one finished.
    for (let i = 1; i < replies.length; i++) {
      expect(replies[i]!.started_at).toBeGreaterThanOrEqual(replies[i - 1]!.finished_at);
    }
    expect(slowItems(state)).toEqual([]);
  });

  it('runs 20 slivers with a slow playbook at exactly the configured parallelism', async () => {
    const { amh } = await start({ consumer: { concurrency: 4 } });
    await amh.send(...Array.from({ length: 20 }, (_, i) => slowEvent(`par-${i}`, 'REDEEM', 1, 2)));
    const replies = await amh.replies(20, 120_000);
    expect(replies.every((r) => r.outcome === 'OK')).toBe(true);
    expect(peakOverlap(replies)).toBe(4);
    expect(amh.service.lanes.peakRunning).toBe(4);
  });

  it('pauses fetching at the queue bound and resumes below half of it, answering everything', async () => {
    const { amh } = await start({ consumer: { concurrency: 1, max_queued: 3 } });
    const pauses: boolean[] = [];
    let peakPending = 0;
    amh.service.events.on('backpressure', ({ paused }) => pauses.push(paused));
    amh.service.events.on('queued', () => (peakPending = Math.max(peakPending, amh.service.pending)));
    await amh.send(...Array.from({ length: 8 }, (_, i) => slowEvent(`bp-${i}`, 'REDEEM', 1, 0)));
    const replies = await amh.replies(8, 120_000);
    expect(new Set(replies.map((r) => r.sliver_id)).size).toBe(8);
    expect(peakPending).toBeLessThanOrEqual(3);
    expect(pauses.slice(0, 2)).toEqual([true, false]);
  });

  it('kills the whole process group of a run that outlives its timeout and answers TIMED_OUT', async () => {
    const { amh, state, root } = await start({ handlers: { slow: { timeouts: { REDEEM: '3s' } } } });
    await amh.send(slowEvent('late-1', 'REDEEM', 1, 120));
    const [reply] = await amh.replies(1);
    expect(reply).toMatchObject({ outcome: 'TIMED_OUT', result_code: -3, error_code: 'TIMED_OUT' });
    expect(reply?.failed_step).toContain('slow_item.yml');
    expect(reply!.duration_ms).toBeLessThan(30_000);
    expect(processesMentioning(root)).toEqual([]);
    expect(slowItems(state)).toEqual([]); // the create's cleanup ran after the kill
  });

  it('cancels a running create when its CLOSE arrives, cleans up, then runs the close', async () => {
    const { amh, state, root } = await start();
    const started = new Promise<void>((resolve) => amh.service.events.on('started', () => resolve()));
    await amh.send(slowEvent('cdc-1', 'REDEEM', 1, 120));
    await started;
    await amh.send(slowEvent('cdc-1', 'CLOSE', 2, 0));
    const [create, close] = await amh.replies(2);
    expect(create).toMatchObject({ operation: 'REDEEM', outcome: 'CANCELLED', result_code: -4 });
    expect(create?.message).toContain('superseded by CLOSE');
    expect(close).toMatchObject({ operation: 'CLOSE', outcome: 'OK' });
    expect(slowItems(state)).toEqual([]);
    expect(processesMentioning(root)).toEqual([]);
  });

  it('on shutdown lets a running operation finish and publishes its result before stopping', async () => {
    const { amh } = await start();
    const started = new Promise<void>((resolve) => amh.service.events.on('started', () => resolve()));
    await amh.send(slowEvent('stop-1', 'REDEEM', 1, 3));
    await started;
    const stopping = amh.service.stop();
    expect(amh.service.stop()).toBe(stopping); // a second call does not run it twice
    await stopping;
    expect(amh.service.state).toBe('stopped');
    const [reply] = await amh.replies(1);
    expect(reply).toMatchObject({ sliver_id: 'stop-1', outcome: 'OK' });
    expect(await committedOffset(amh)).toBe('1'); // committed before the consumer left its group
  });

  it('cancels what is still running when the shutdown grace runs out, and publishes CANCELLED', async () => {
    const { amh, root } = await start({ consumer: { shutdown_grace: '1s' } });
    const started = new Promise<void>((resolve) => amh.service.events.on('started', () => resolve()));
    await amh.send(slowEvent('stop-2', 'REDEEM', 1, 120));
    await started;
    await amh.service.stop();
    const [reply] = await amh.replies(1);
    expect(reply).toMatchObject({ outcome: 'CANCELLED' });
    expect(reply?.message).toContain('shutdown');
    expect(processesMentioning(root)).toEqual([]);
  });

  it('stops instead of dead-lettering a whole topic when undecodable messages pile up', async () => {
    const { amh } = await start({ consumer: { dead_letter_limit: { max: 2, window: '1m' } } });
    const { produceRaw } = await import('../helpers/kafka.js');
    const fatal = new Promise<Error>((resolve) => amh.service.events.on('fatal', ({ error }) => resolve(error)));
    await produceRaw(amh.topics.events, [1, 2, 3].map((i) => ({ key: `junk-${i}`, value: Buffer.from(`junk ${i}`) })));
    expect((await fatal).message).toContain('more than 2 undecodable messages');
    await amh.service.stop();
    expect(await amh.deadLetters(2)).toHaveLength(2);
    expect(await committedOffset(amh)).toBe('2'); // the third is left for after the fix
  });
});

/** The group's committed offset on partition 0 of the events topic. */
function committedOffset(amh: TestService): Promise<string | undefined> {
  return withAdmin(async (admin) => {
    const [topic] = await admin.fetchOffsets({ groupId: amh.config.kafka.group_id, topics: [amh.topics.events] });
    return topic?.partitions[0]?.offset;
  });
}

/** Highest number of operations whose [started_at, finished_at) intervals overlap. */
function peakOverlap(results: SliverResult[]): number {
  const points = results.flatMap((r) => [
    { at: r.started_at, delta: 1 },
    { at: r.finished_at, delta: -1 },
  ]);
  points.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let peak = 0;
  for (const p of points) {
    now += p.delta;
    peak = Math.max(peak, now);
  }
  return peak;
}
