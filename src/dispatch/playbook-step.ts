import { basename } from 'node:path';
import type { HostStats, PlaybookRunner, PlaybookRunResult, TaskProgress } from '../ansible/types.js';
import { CancelledError, OperationTimeoutError, PlaybookError, SubstrateError } from '../errors/index.js';
import type { RunPlaybook } from '../handlers/types.js';
import type { Logger } from '../observability/logger.js';
import { mergeHostStats } from '../results/builder.js';

export interface StepRunnerOptions {
  runner: PlaybookRunner;
  signal: AbortSignal;
  /** Tells a timeout from a cancellation once `signal` has fired. */
  timedOut: () => boolean;
  logger: Logger;
  inventory?: string | null;
  killGraceMs: number;
  stats: Map<string, HostStats>;
  /** Counts the playbook runs of the operation (cleanups included): each run's progress names its step. */
  runs: { count: number };
  onProgress?: (progress: StepProgress) => void;
  /** CPU niceness of every run (background work: reconciliation probes). */
  nice?: number;
  /** The handler's choice of the warm runner (`handlers.<name>.warm_runner`); absent: the runner's default. */
  warm?: boolean;
}

/** A task that started, in the n-th playbook run of the operation. */
export interface StepProgress extends TaskProgress {
  /** 1-based number of the playbook run within the operation (a VM create runs about nine). */
  step: number;
}

/**
 * The `runPlaybook` a handler gets: runs under the operation's signal,
 * accumulates host stats for the result, and turns every unsuccessful run
 * into a typed error naming the step (playbook and task) that failed.
 */
export function stepRunner(options: StepRunnerOptions): RunPlaybook {
  return async (playbook, extraVars) => {
    const step = ++options.runs.count;
    const result = await options.runner({
      playbook,
      extraVars,
      signal: options.signal,
      killGraceMs: options.killGraceMs,
      logger: options.logger,
      onProgress: (task) => {
        // At info: the one line per task that tells an operator where a long operation is (no task results in it).
        options.logger.info(
          { progress: { step, playbook: task.playbook, task: task.task, host: task.host, taskIndex: task.taskIndex, taskCount: task.taskCount } },
          `step ${step} ${task.playbook}: task ${task.taskIndex}/${task.taskCount ?? '?'} ${task.task}${task.host ? ` on ${task.host}` : ''}`,
        );
        options.onProgress?.({ ...task, step });
      },
      ...(options.inventory ? { inventory: options.inventory } : {}),
      ...(options.nice !== undefined ? { nice: options.nice } : {}),
      ...(options.warm !== undefined ? { warm: options.warm } : {}),
    });
    mergeHostStats(options.stats, result.stats);
    if (result.outcome === 'ok') return result;
    throw errorFor(result, options.timedOut());
  };
}

function errorFor(result: PlaybookRunResult, timedOut: boolean): PlaybookError {
  const book = basename(result.playbook);
  const task = result.failedTask;
  const step = task ? `${book}: ${task.task}` : book;
  if (result.outcome === 'timed_out' || (result.outcome === 'cancelled' && timedOut)) {
    return new OperationTimeoutError(`timed out during ${step}; the playbook's process group was killed`, step);
  }
  if (result.outcome === 'cancelled') return new CancelledError(`cancelled during ${step}`, step);
  if (task) {
    const why = task.msg ?? (typeof task.result.stderr === 'string' ? task.result.stderr : 'no message');
    // Transient: the host was unreachable, or the step itself said so (e.g. a substrate API timeout).
    const retriable = result.outcome === 'unreachable' || task.status === 'unreachable' || task.result.retriable === true;
    // A step that names its refusal (e.g. `bdf_in_use`) is the substrate saying no, not a broken playbook.
    const refusal = typeof task.result.error_code === 'string' ? task.result.error_code : null;
    return refusal
      ? new SubstrateError(`${step} refused on ${task.host} (${refusal}): ${why}`, step, { retriable })
      : new PlaybookError(`${step} failed on ${task.host}: ${why}`, step, { retriable });
  }
  const tail = result.stderrTail.trim().split('\n').slice(-3).join(' | ');
  return new PlaybookError(`${book} exited with code ${result.exitCode}: ${tail || 'no output'}`, step);
}
