import { describe, expect, it } from 'vitest';
import { ProgressTracker } from '../../src/ansible/progress.js';
import type { AnsibleEvent } from '../../src/ansible/events.js';
import type { TaskProgress } from '../../src/ansible/types.js';

function feed(events: AnsibleEvent[]): TaskProgress[] {
  const tracker = new ProgressTracker('book.yml');
  return events.map((e) => tracker.next(e)).filter((p): p is TaskProgress => p !== undefined);
}

describe('ProgressTracker', () => {
  it('one progress per host a task starts on, numbered within its play', () => {
    const out = feed([
      { event: 'playbook_start', playbook: '/x/book.yml' },
      { event: 'play_start', play: 'p', task_count: 2 },
      { event: 'task_start', task: 'a', task_index: 1 },
      { event: 'runner_on_start', task: 'a', host: 'h1' },
      { event: 'runner_on_start', task: 'a', host: 'h2' },
      { event: 'runner_on_ok', task: 'a', host: 'h1' },
      { event: 'task_start', task: 'b', task_index: 2 },
      { event: 'runner_on_start', task: 'b', host: 'h1' },
      { event: 'play_start', play: 'q', task_count: 1 },
      { event: 'task_start', task: 'c', task_index: 1 },
      { event: 'runner_on_start', task: 'c', host: 'h1' },
    ]);
    expect(out).toEqual<TaskProgress[]>([
      { playbook: 'book.yml', play: 'p', task: 'a', host: 'h1', taskIndex: 1, taskCount: 2 },
      { playbook: 'book.yml', play: 'p', task: 'a', host: 'h2', taskIndex: 1, taskCount: 2 },
      { playbook: 'book.yml', play: 'p', task: 'b', host: 'h1', taskIndex: 2, taskCount: 2 },
      { playbook: 'book.yml', play: 'q', task: 'c', host: 'h1', taskIndex: 1, taskCount: 1 },
    ]);
  });

  it('tasks added at run time (include_tasks) grow the count instead of passing it', () => {
    const out = feed([
      { event: 'play_start', play: 'p', task_count: 1 },
      { event: 'task_start', task: 'include', task_index: 1 },
      { event: 'runner_on_start', task: 'include', host: 'h' },
      { event: 'task_start', task: 'included', task_index: 2 },
      { event: 'runner_on_start', task: 'included', host: 'h' },
    ]);
    expect(out.map((p) => `${p.taskIndex}/${p.taskCount}`)).toEqual(['1/1', '2/2']);
  });

  it('an older callback without counts: indexes counted here, count unknown, host may be missing', () => {
    const out = feed([
      { event: 'play_start', play: 'p' },
      { event: 'task_start', task: 'a' },
      { event: 'runner_on_start', task: 'a' },
      { event: 'task_start', task: 'b' },
      { event: 'task_start', task: 'h', handler: true },
      { event: 'runner_on_start', task: 'h', host: 'x' },
    ]);
    expect(out.map((p) => [p.task, p.host, p.taskIndex, p.taskCount])).toEqual([
      ['a', null, 1, null],
      ['h', 'x', 2, null],
    ]);
  });
});
