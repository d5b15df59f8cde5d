import type { Logger } from '../observability/logger.js';

/** One playbook run requested by a handler. */
export interface PlaybookRunRequest {
  /** Absolute path of the playbook. */
  playbook: string;
  /** Extra vars; written to a JSON file in the run directory and passed as `-e @file`. */
  extraVars: Record<string, unknown>;
  /** Inventory path. Default: a generated localhost inventory with `ansible_connection=local`. */
  inventory?: string;
  /** Aborting kills the whole process group (SIGTERM, then SIGKILL after `killGraceMs`). */
  signal?: AbortSignal;
  /** Kill the run after this many milliseconds (outcome `timed_out`). */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL. Default 5000. */
  killGraceMs?: number;
  logger?: Logger;
  /** Extra environment for ansible-playbook. */
  env?: Record<string, string>;
  /** Called each time a task starts on a host (live progress). Must not throw. */
  onProgress?: (progress: TaskProgress) => void;
  /**
   * CPU niceness (1-19) of the run, set on ansible-playbook as soon as it is spawned (its workers inherit it):
   * background work such as reconciliation probes gives the CPU to the events' runs. Default: ours.
   */
  nice?: number;
  /**
   * Fork the run from the warm runner's zygote (true) or spawn ansible-playbook (false); default: the runner's
   * (`runtime.warm_runner.enabled`, per handler `handlers.<name>.warm_runner`). Ignored by a runner without zygotes.
   */
  warm?: boolean;
}

/** A task that just started on a host: task `taskIndex` of `taskCount` in its play. */
export interface TaskProgress {
  /** File name of the playbook (no directory). */
  playbook: string;
  play: string;
  task: string;
  /** Null when the callback did not name one. */
  host: string | null;
  /** 1-based position of the task in its play. */
  taskIndex: number;
  /** Tasks the play has (counted when it started); null when unknown. */
  taskCount: number | null;
}

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'unreachable' | 'skipped';

/** One task result on one host, from the JSON event stream. */
export interface TaskResult {
  host: string;
  task: string;
  status: TaskStatus;
  /** The task's `msg`, if any. */
  msg?: string;
  /** The module result (trimmed of bulky keys). */
  result: Record<string, unknown>;
  ignoreErrors: boolean;
}

/** Per-host stats as printed in the play recap. */
export interface HostStats {
  host: string;
  ok: number;
  changed: number;
  failures: number;
  unreachable: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export type PlaybookOutcome = 'ok' | 'failed' | 'unreachable' | 'timed_out' | 'cancelled' | 'error';

export interface PlaybookRunResult {
  playbook: string;
  outcome: PlaybookOutcome;
  exitCode: number | null;
  tasks: TaskResult[];
  stats: HostStats[];
  /** Custom stats set by the playbook with `set_stats` (aggregated over hosts). */
  data: Record<string, unknown>;
  /** Custom stats set with `set_stats: per_host: true`, by host (absent when none). */
  hostData?: Record<string, Record<string, unknown>>;
  /** The first failed or unreachable task that was not ignored. */
  failedTask?: TaskResult;
  durationMs: number;
  /** Last lines of stderr, for error messages. */
  stderrTail: string;
  /** The run directory, when the runner was told to keep it (debugging). */
  runDir?: string;
  /** How ansible-playbook was started: `spawn`ed, or forked from a `warm` zygote. Absent from fakes. */
  via?: 'spawn' | 'warm';
}

/** The seam between handlers and ansible-playbook: faked in unit tests. */
export type PlaybookRunner = (request: PlaybookRunRequest) => Promise<PlaybookRunResult>;
