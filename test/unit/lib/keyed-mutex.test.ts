import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../../src/lib/keyed-mutex.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('KeyedMutex', () => {
  it('runs the tasks of one key one at a time in the order added; other keys run meanwhile', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([m.run('a', task('a1')), m.run('a', task('a2')), m.run('b', task('b1')), m.run('a', task('a3'))]);
    expect(results).toEqual(['a1', 'a2', 'b1', 'a3']);
    const a = log.filter((l) => l.startsWith('a'));
    expect(a).toEqual(['a1 start', 'a1 end', 'a2 start', 'a2 end', 'a3 start', 'a3 end']);
    expect(log.indexOf('b1 start')).toBeLessThan(log.indexOf('a1 end')); // b did not wait for a
  });

  it('a free key starts its task at once; a busy one only after the task before it ended', async () => {
    const m = new KeyedMutex();
    let started = 0;
    let release!: () => void;
    const first = m.run('k', async () => {
      started++;
      await new Promise<void>((r) => (release = r));
    });
    expect(started).toBe(1);
    const second = m.run('k', async () => {
      started++;
    });
    await tick();
    expect(started).toBe(1);
    release();
    await Promise.all([first, second]);
    expect(started).toBe(2);
  });

  it("a failing task (thrown at once or rejected) fails only its caller; the key's next task still runs", async () => {
    const m = new KeyedMutex();
    const thrown = m.run('k', () => {
      throw new Error('at once');
    });
    const rejected = m.run('k', async () => {
      throw new Error('later');
    });
    const after = m.run('k', async () => 'ran');
    await expect(thrown).rejects.toThrow('at once');
    await expect(rejected).rejects.toThrow('later');
    await expect(after).resolves.toBe('ran');
  });

  it('counts tasks and keys while they are queued, forgets a key once it is idle, and idle() waits for tasks added meanwhile', async () => {
    const m = new KeyedMutex();
    const p1 = m.run('a', async () => tick());
    const p2 = m.run('a', async () => tick());
    m.run('b', async () => {
      await tick();
      void m.run('c', async () => tick()); // added while idle() waits
    });
    expect(m.pending).toBe(3);
    expect(m.keys).toBe(2);
    expect(m.has('a')).toBe(true);
    await Promise.all([p1, p2]);
    await m.idle();
    expect(m.pending).toBe(0);
    expect(m.keys).toBe(0);
    expect(m.has('a') || m.has('b') || m.has('c')).toBe(false);
  });
});
