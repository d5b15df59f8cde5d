import type { AnsibleEvent } from './events.js';
import type { TaskProgress } from './types.js';

/**
 * Turns the callback's play_start / task_start / runner_on_start events into
 * live progress: one TaskProgress each time a task starts on a host, with its
 * place in the play ("task 3 of 9"). The count comes from play_start
 * (counted from the compiled play by the callback); tasks added at run time
 * (include_tasks, handlers) can make the index pass it, in which case the
 * count grows with the index rather than reading "10 of 9".
 */
export class ProgressTracker {
  private play = '';
  private taskCount: number | null = null;
  private taskIndex = 0;
  private task = '';

  constructor(private readonly playbook: string) {}

  /** The progress an event means, if any. */
  next(event: AnsibleEvent): TaskProgress | undefined {
    switch (event.event) {
      case 'play_start':
        this.play = typeof event.play === 'string' ? event.play : '';
        this.taskCount = typeof event.task_count === 'number' ? event.task_count : null;
        this.taskIndex = 0;
        return undefined;
      case 'task_start':
        this.task = typeof event.task === 'string' ? event.task : '';
        // Handlers are not counted by the callback: they keep the index of the task that notified them.
        if (event.handler !== true) this.taskIndex = typeof event.task_index === 'number' ? event.task_index : this.taskIndex + 1;
        return undefined;
      case 'runner_on_start': {
        const taskCount = this.taskCount === null ? null : Math.max(this.taskCount, this.taskIndex);
        return {
          playbook: this.playbook,
          play: this.play,
          task: typeof event.task === 'string' ? event.task : this.task,
          host: typeof event.host === 'string' && event.host ? event.host : null,
          taskIndex: Math.max(this.taskIndex, 1),
          taskCount,
        };
      }
      default:
        return undefined;
    }
  }
}
