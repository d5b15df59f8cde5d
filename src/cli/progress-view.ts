import type { SliverProgress, SliverResult } from '../codec/types.js';

/** What `amh tail --follow` knows about one in-flight sliver. */
export interface InFlightView {
  progress: SliverProgress;
  /** When the first progress of this event was seen (ms). */
  since: number;
}

const BAR_WIDTH = 20;

/** `[########------------]` for n of m; an unknown m gives an empty bar with a moving mark. */
export function progressBar(index: number, count: number | null, width = BAR_WIDTH): string {
  if (!count || count <= 0) {
    const at = Math.max(0, index - 1) % width;
    return `[${'-'.repeat(at)}>${'-'.repeat(width - at - 1)}]`;
  }
  // A task that has started is not done: the bar shows the tasks before it as done.
  const done = Math.min(width, Math.round((Math.min(index - 1, count) / count) * width));
  return `[${'#'.repeat(done)}${'-'.repeat(width - done)}]`;
}

/** `step 3 vm_create.yml task 5/9 boot on localhost` */
export function describeProgress(p: SliverProgress): string {
  const of = p.task_count ? `${p.task_index}/${p.task_count}` : `${p.task_index}/?`;
  return `step ${p.step} ${p.playbook} task ${of} ${p.task}${p.host ? ` on ${p.host}` : ''}`;
}

/** One appended line per progress record (stdout not a terminal: a log or a test reads them). */
export function progressLine(p: SliverProgress): string {
  return `progress ${p.sliver_id} ${p.operation} ${p.resource_type} ${describeProgress(p)}`;
}

/** One line per result, in both modes. */
export function resultLine(r: SliverResult): string {
  const message = r.message.length > 200 ? `${r.message.slice(0, 200)}...` : r.message;
  return `result ${r.sliver_id} ${r.operation} ${r.resource_type} ${r.outcome} in ${formatDuration(r.duration_ms)}: ${message}`;
}

/** The live line of one in-flight sliver on a terminal, cut to the terminal's width. */
export function liveLine(view: InFlightView, now: number, columns: number): string {
  const p = view.progress;
  const line = `${p.sliver_id} ${p.operation} ${progressBar(p.task_index, p.task_count)} ${describeProgress(p)} (${formatDuration(now - view.since)})`;
  return line.length > columns ? `${line.slice(0, Math.max(0, columns - 1))}…` : line;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
