import { StringDecoder } from 'node:string_decoder';
import type { HostStats, TaskResult, TaskStatus } from './types.js';

/**
 * One line of the amh_json callback (playbooks/callback_plugins/amh_json.py).
 * `event` is one of playbook_start, play_start, task_start, runner_on_ok,
 * runner_on_failed, runner_on_unreachable, runner_on_skipped, runner_item_on_*,
 * runner_retry, no_hosts_matched, stats.
 */
export interface AnsibleEvent {
  event: string;
  [field: string]: unknown;
}

const STATUS_OF: Record<string, (e: AnsibleEvent) => TaskStatus> = {
  runner_on_ok: (e) => (e.changed === true ? 'changed' : 'ok'),
  runner_on_failed: () => 'failed',
  runner_on_unreachable: () => 'unreachable',
  runner_on_skipped: () => 'skipped',
};

/** Longest line kept while waiting for its newline; the stats line can be big, nothing else is. */
const MAX_LINE = 16 * 1024 * 1024;
const NOISE_LINES = 20;

/** A JSON event, or undefined for anything else (warnings, tracebacks, blank lines). */
export function parseEventLine(line: string): AnsibleEvent | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (isRecord(value) && typeof value.event === 'string') return value as AnsibleEvent;
  } catch {
    // Not ours: e.g. a module printing to the controller's stdout.
  }
  return undefined;
}

/**
 * Incremental parser of the callback's stdout: feed chunks as they arrive
 * (lines and multi-byte characters may be split across chunks), then end().
 */
export class AnsibleEventParser {
  readonly tasks: TaskResult[] = [];
  stats: HostStats[] = [];
  /** Custom stats aggregated over the run (`set_stats` with per_host: false). */
  data: Record<string, unknown> = {};
  /** Custom stats set with per_host: true, by host. */
  hostData: Record<string, Record<string, unknown>> = {};
  /** Whether the final stats event arrived (false if the run was killed or crashed). */
  sawStats = false;
  /** The last few stdout lines that were not events, for diagnostics. */
  readonly noise: string[] = [];

  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(private readonly onEvent?: (event: AnsibleEvent) => void) {}

  push(chunk: Buffer | string): void {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      this.line(this.pending.slice(0, newline));
      this.pending = this.pending.slice(newline + 1);
    }
    if (this.pending.length > MAX_LINE) {
      this.keepNoise(`[dropped a ${this.pending.length}-character line without newline]`);
      this.pending = '';
    }
  }

  end(): void {
    this.pending += this.decoder.end();
    if (this.pending) this.line(this.pending);
    this.pending = '';
  }

  private line(line: string): void {
    const event = parseEventLine(line);
    if (!event) {
      if (line.trim()) this.keepNoise(line);
      return;
    }
    this.apply(event);
    this.onEvent?.(event);
  }

  private apply(event: AnsibleEvent): void {
    const status = STATUS_OF[event.event]?.(event);
    if (status) {
      this.tasks.push(toTaskResult(event, status));
    } else if (event.event === 'stats') {
      this.sawStats = true;
      this.stats = toHostStats(event.hosts);
      const custom = isRecord(event.custom) ? event.custom : {};
      for (const [host, values] of Object.entries(custom)) {
        if (!isRecord(values)) continue;
        if (host === '_run') this.data = values;
        else this.hostData[host] = values;
      }
    }
  }

  private keepNoise(line: string): void {
    this.noise.push(line.length > 2000 ? `${line.slice(0, 2000)}...` : line);
    if (this.noise.length > NOISE_LINES) this.noise.shift();
  }
}

function toTaskResult(event: AnsibleEvent, status: TaskStatus): TaskResult {
  const result = isRecord(event.result) ? event.result : {};
  const task: TaskResult = {
    host: String(event.host ?? ''),
    task: String(event.task ?? ''),
    status,
    result,
    ignoreErrors: event.ignore_errors === true,
  };
  const msg = failedItemMsg(result) ?? event.msg ?? result.msg;
  if (msg !== undefined && msg !== null) task.msg = typeof msg === 'string' ? msg : JSON.stringify(msg);
  return task;
}

/** A failed loop says only "One or more items failed"; the first failed item says why. */
function failedItemMsg(result: Record<string, unknown>): unknown {
  if (!Array.isArray(result.results)) return undefined;
  const item: unknown = result.results.find((r) => isRecord(r) && r.failed === true);
  return isRecord(item) ? item.msg : undefined;
}

const COUNTERS = ['ok', 'changed', 'failures', 'unreachable', 'skipped', 'rescued', 'ignored'] as const;

function toHostStats(hosts: unknown): HostStats[] {
  if (!isRecord(hosts)) return [];
  return Object.entries(hosts).map(([host, raw]) => {
    const counts = isRecord(raw) ? raw : {};
    const stats = { host } as HostStats;
    for (const key of COUNTERS) stats[key] = typeof counts[key] === 'number' ? counts[key] : 0;
    return stats;
  });
}

/**
 * The first failed or unreachable task that was not ignored. Failures inside a
 * block that a `rescue` handled also arrive as runner_on_failed; the recap does
 * not count them, so when stats are known only each host's last
 * `failures + unreachable` failures are candidates (a host stops at its first
 * unrescued failure; only `always` sections run after it).
 */
export function findFailedTask(tasks: readonly TaskResult[], stats: readonly HostStats[]): TaskResult | undefined {
  const failed = tasks.filter((t) => (t.status === 'failed' || t.status === 'unreachable') && !t.ignoreErrors);
  if (stats.length === 0) return failed[0];
  const candidates = new Set<TaskResult>();
  for (const s of stats) {
    const own = failed.filter((t) => t.host === s.host);
    const counted = s.failures + s.unreachable;
    if (counted > 0 && own.length > 0) candidates.add(own[Math.max(0, own.length - counted)]!);
  }
  return failed.find((t) => candidates.has(t));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
