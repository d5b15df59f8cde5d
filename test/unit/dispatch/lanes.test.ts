import { describe, expect, it } from 'vitest';
import { KeyedLanes, MAX_AHEAD_PER_SLOT, MIN_AHEAD_PER_SLOT, aheadPerSlot } from '../../../src/dispatch/lanes.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedLanes', () => {
  it('runs one key in order, one at a time', async () => {
    const lanes = new KeyedLanes(4);
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
    };
    await Promise.all([lanes.run('a', task('create', 30)), lanes.run('a', task('modify', 1)), lanes.run('a', task('delete', 1))]);
    expect(log).toEqual(['start create', 'end create', 'start modify', 'end modify', 'start delete', 'end delete']);
  });

  it('runs different keys in parallel up to the bound and no further', async () => {
    const lanes = new KeyedLanes(3);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        lanes.run(`k${i}`, () =>
          lanes.withSlot(async () => {
            running++;
            peak = Math.max(peak, running);
            await tick(10);
            running--;
          }),
        ),
      ),
    );
    expect(peak).toBe(3);
    expect(lanes.peakRunning).toBe(3);
    expect(lanes.size).toBe(0);
  });

  it('keeps a lane going after a task fails, and reports the failure to its caller', async () => {
    const lanes = new KeyedLanes(1);
    const first = lanes.run('a', async () => {
      throw new Error('boom');
    });
    const second = lanes.run('a', async () => 'ok');
    await expect(first).rejects.toThrow('boom');
    await expect(second).resolves.toBe('ok');
    await lanes.onIdle();
    expect(lanes.activeKeys).toBe(0);
  });

  it('a task waiting inside its lane holds no slot: other keys still run (finding 10)', async () => {
    const lanes = new KeyedLanes(2);
    let release: () => void = () => {};
    const blocked = new Promise<void>((r) => (release = r));
    // Two slivers wait (e.g. for another instance's lease) without a slot...
    const waiting = [lanes.run('w1', () => blocked), lanes.run('w2', () => blocked)];
    // ...and a third sliver still gets a slot at once.
    const ran = await Promise.race([lanes.run('other', () => lanes.withSlot(async () => 'ran')), tick(500).then(() => 'stalled')]);
    expect(ran).toBe('ran');
    release();
    await Promise.all(waiting);
  });
});

describe('KeyedLanes: background tasks yield their slot to events', () => {
  it('an event that finds every slot taken preempts the newest running background task, the other keeps its slot', async () => {
    const lanes = new KeyedLanes(2);
    const log: string[] = [];
    const background = (name: string) =>
      lanes.withBackgroundSlot(
        (signal) =>
          new Promise<string>((resolve) => {
            log.push(`start ${name}`);
            signal.addEventListener('abort', () => {
              log.push(`preempted ${name}`);
              resolve(`${name} preempted`);
            });
            setTimeout(() => resolve(`${name} finished`), 300);
          }),
      );
    const b1 = background('b1');
    await tick(5);
    const b2 = background('b2');
    await tick(5);
    expect(lanes.running).toBe(2);
    // Both slots are held by background work: an event must not wait for it to finish.
    const event = lanes.withSlot(async () => {
      log.push('event');
      return 'event done';
    });
    expect(await Promise.race([event, tick(500).then(() => 'event waited')])).toBe('event done');
    expect(await b2).toBe('b2 preempted');
    expect(log).toEqual(['start b1', 'start b2', 'preempted b2', 'event']);
    // b1 keeps its slot: one event needed one slot.
    expect(lanes.running).toBe(1);
    expect(await b1).toBe('b1 finished');
  });

  it('a background task never preempts another, and an event with a free slot preempts nothing', async () => {
    const lanes = new KeyedLanes(2);
    const aborted: string[] = [];
    const hold = (name: string) =>
      lanes.withBackgroundSlot(async (signal) => {
        await tick(50);
        if (signal.aborted) aborted.push(name);
      });
    const tasks = [hold('b1'), lanes.withSlot(() => tick(10)), hold('b2'), hold('b3')];
    await Promise.all(tasks);
    expect(aborted).toEqual([]);
  });
});

describe('KeyedLanes: idle-only background work', () => {
  it('an idleOnly background task yields to any event, even with slots free; a plain one keeps its slot', async () => {
    const lanes = new KeyedLanes(4);
    const aborted: string[] = [];
    const hold = (name: string, idleOnly: boolean) =>
      lanes.withBackgroundSlot(
        async (signal) => {
          signal.addEventListener('abort', () => aborted.push(name));
          await tick(60);
        },
        { idleOnly },
      );
    const tasks = [hold('idle', true), hold('plain', false)];
    await tick(5);
    await lanes.withSlot(() => tick(5)); // three slots were free
    await Promise.all(tasks);
    expect(aborted).toEqual(['idle']);
  });

  it('an idleOnly task that starts while an event holds a slot starts aborted', async () => {
    const lanes = new KeyedLanes(2);
    const event = lanes.withSlot(() => tick(40));
    const seen = await lanes.withBackgroundSlot(async (signal) => signal.aborted, { idleOnly: true });
    expect(seen).toBe(true);
    await event;
  });

  it('quiet: true once no event waited or ran for the given time, false when the deadline comes first', async () => {
    let now = 1_000;
    const lanes = new KeyedLanes(2, () => now);
    const never = new AbortController().signal;
    expect(lanes.isQuiet(500)).toBe(true); // nothing ever ran
    let release: () => void = () => undefined;
    const event = lanes.withSlot(() => new Promise<void>((r) => (release = r)));
    expect(lanes.isQuiet(0)).toBe(false);
    expect(await lanes.quiet(500, now, never)).toBe(false); // deadline now: not quiet
    release();
    await event;
    await tick(1);
    expect(lanes.isQuiet(500)).toBe(false); // it just ended
    now += 499;
    expect(lanes.isQuiet(500)).toBe(false);
    now += 1;
    expect(await lanes.quiet(500, now + 10_000, never)).toBe(true);
  });
  it('ahead: twice `concurrency` tasks prepare at once; a permit is given back when its task takes a slot, or ends (even failing) without one', async () => {
    const lanes = new KeyedLanes(1);
    let preparing = 0;
    let peakPreparing = 0;
    let running = 0;
    let peakRunning = 0;
    const task = (fail: boolean) =>
      lanes.ahead(async (withSlot) => {
        preparing++;
        peakPreparing = Math.max(peakPreparing, preparing);
        await tick(5); // the claim's round trip
        preparing--;
        if (fail) throw new Error('claim lost');
        return withSlot(async () => {
          running++;
          peakRunning = Math.max(peakRunning, running);
          await tick(10);
          running--;
          return 'ran';
        });
      });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => task(i % 3 === 0)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(peakPreparing).toBe(2);
    expect(peakRunning).toBe(1);
    expect(lanes.preparing).toBe(0);
  });

  it('ahead: as many permits per slot as Little\'s law asks (1 + claim / run time), from 2 to 8', () => {
    expect(aheadPerSlot(Number.NaN, Number.NaN)).toBe(MIN_AHEAD_PER_SLOT); // nothing timed yet
    expect(aheadPerSlot(8, Number.NaN)).toBe(MIN_AHEAD_PER_SLOT); // no run finished yet
    expect(aheadPerSlot(8, 5_000)).toBe(2); // a playbook of seconds: one claimed while one runs
    expect(aheadPerSlot(8, 4)).toBe(3);
    expect(aheadPerSlot(8, 2)).toBe(5);
    expect(aheadPerSlot(8, 0)).toBe(MAX_AHEAD_PER_SLOT); // runs count as 1 ms: 9, capped
    expect(aheadPerSlot(0, 0)).toBe(MIN_AHEAD_PER_SLOT);
  });

  it('ahead: runs far shorter than a claim get more tasks preparing (up to 8 per slot); long runs keep 2', async () => {
    const peakPreparing = async (tasks: number, claimMs: number, runMs: number): Promise<{ peak: number; permits: number }> => {
      const lanes = new KeyedLanes(2);
      let preparing = 0;
      let peak = 0;
      const task = () =>
        lanes.ahead(async (withSlot) => {
          preparing++;
          peak = Math.max(peak, preparing);
          await tick(claimMs); // the claim's round trip
          preparing--;
          return withSlot(() => tick(runMs));
        });
      await Promise.all(Array.from({ length: tasks }, task));
      expect(lanes.preparing).toBe(0);
      return { peak, permits: lanes.aheadPermits };
    };
    const short = await peakPreparing(120, 10, 0);
    expect(short.permits).toBeGreaterThan(MIN_AHEAD_PER_SLOT * 2);
    expect(short.permits).toBeLessThanOrEqual(MAX_AHEAD_PER_SLOT * 2);
    expect(short.peak).toBeGreaterThan(MIN_AHEAD_PER_SLOT * 2);
    expect(short.peak).toBeLessThanOrEqual(MAX_AHEAD_PER_SLOT * 2);
    const long = await peakPreparing(20, 2, 40);
    expect(long.permits).toBe(MIN_AHEAD_PER_SLOT * 2);
    expect(long.peak).toBe(MIN_AHEAD_PER_SLOT * 2);
  });
});
