import { describe, expect, it } from 'vitest';
import { KeyedLanes } from '../../../src/dispatch/lanes.js';

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
