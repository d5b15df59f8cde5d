import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskProgress } from '../../src/ansible/types.js';
import { testRunner } from '../helpers/ansible.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/playbooks');

describe('live progress from a real ansible-playbook run', () => {
  it('reports each task start with its host and its place in the play (n of m)', async () => {
    const { runner } = await testRunner();
    const seen: TaskProgress[] = [];
    const result = await runner({ playbook: join(FIXTURES, 'progress.yml'), extraVars: {}, onProgress: (p) => seen.push(p) });
    expect(result.outcome, result.stderrTail).toBe('ok');
    expect(seen.map((p) => [p.play, p.task, p.taskIndex, p.taskCount])).toEqual([
      ['first', 'one', 1, 4],
      ['first', 'two', 2, 4],
      ['first', 'three', 3, 4],
      ['first', 'four (skipped)', 4, 4],
      ['second', 'Gathering Facts', 1, 2],
      ['second', 'notify', 2, 2],
      // A handler is not counted up front: it keeps the index of the task that notified it.
      ['second', 'handled', 2, 2],
    ]);
    expect(new Set(seen.map((p) => p.host))).toEqual(new Set(['localhost']));
    expect(new Set(seen.map((p) => p.playbook))).toEqual(new Set(['progress.yml']));
  });

  it('a listener that throws does not break the run', async () => {
    const { runner } = await testRunner();
    const result = await runner({
      playbook: join(FIXTURES, 'ok.yml'),
      extraVars: { payload: 'x' },
      onProgress: () => {
        throw new Error('listener bug');
      },
    });
    expect(result.outcome, result.stderrTail).toBe('ok');
  });
});
