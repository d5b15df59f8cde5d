import { rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { setPriority } from 'node:os';
import { silentLogger, type Logger } from '../observability/logger.js';
import { playbooksDir } from '../paths.js';
import { AnsibleEventParser, findFailedTask, type AnsibleEvent } from './events.js';
import { ansiblePython } from './interpreter.js';
import { spawnLauncher, type Launched } from './launch.js';
import { classifyOutcome, type StopReason } from './outcome.js';
import { signalGroup, trackGroup, waitGroupGone } from './process-group.js';
import { recordOwner } from './orphans.js';
import { ProgressTracker } from './progress.js';
import { prepareRun } from './run-dir.js';
import type { PlaybookRunner, PlaybookRunRequest, PlaybookRunResult } from './types.js';
import type { WarmPool } from './warm/pool.js';

export interface PlaybookRunnerOptions {
  /** Path of ansible-playbook (see locateAnsiblePlaybook). */
  ansiblePlaybook: string;
  /** Parent of the per-run directories (created if missing). */
  workDir: string;
  /** Keep run directories for debugging; their path is in the result. */
  keepRunDirs?: boolean;
  /** SIGTERM-to-SIGKILL grace when the request sets none. Default 5000. */
  defaultKillGraceMs?: number;
  logger?: Logger;
  /** Where callback_plugins/, library/ and module_utils/ live. Default `<repo>/playbooks`. */
  playbooksDir?: string;
  /**
   * The warm runner (README "Warm playbook runner"): runs are forked from its zygotes when the request
   * says `warm: true`, or says nothing and `default` is true; with no zygote ready they are spawned.
   */
  warm?: { pool: WarmPool; default: boolean };
}

const STDERR_TAIL = 8 * 1024;
/** After the final SIGKILL, how long to wait for the group to disappear. */
const REAP_WAIT_MS = 2000;

export function createPlaybookRunner(options: PlaybookRunnerOptions): PlaybookRunner {
  return (request) => runPlaybook(options, request);
}

async function runPlaybook(options: PlaybookRunnerOptions, request: PlaybookRunRequest): Promise<PlaybookRunResult> {
  const started = Date.now();
  const playbook = resolve(request.playbook);
  const logger = request.logger ?? options.logger ?? silentLogger();
  const empty = { playbook, exitCode: null, tasks: [], stats: [], data: {}, stderrTail: '' };
  if (request.signal?.aborted) return { ...empty, outcome: 'cancelled', durationMs: 0 };

  const run = await prepareRun(
    { ...request, playbook },
    {
      workDir: options.workDir,
      playbooksDir: options.playbooksDir ?? playbooksDir(),
      python: await ansiblePython(options.ansiblePlaybook),
    },
  );
  try {
    const result = await execute(options, request, run.args, run.env, run.dir, logger);
    const durationMs = Date.now() - started;
    logger.debug(
      { playbook, outcome: result.outcome, exitCode: result.exitCode, durationMs, runDir: run.dir },
      'playbook run finished',
    );
    return { ...result, playbook, durationMs, ...(options.keepRunDirs ? { runDir: run.dir } : {}) };
  } finally {
    if (!options.keepRunDirs) await rm(run.dir, { recursive: true, force: true });
  }
}

type Executed = Omit<PlaybookRunResult, 'playbook' | 'durationMs'>;

async function execute(
  options: PlaybookRunnerOptions,
  request: PlaybookRunRequest,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  logger: Logger,
): Promise<Executed> {
  const progress = new ProgressTracker(basename(request.playbook));
  const parser = new AnsibleEventParser((event) => {
    logTaskEvent(logger, event);
    const step = progress.next(event);
    if (step && request.onProgress) {
      try {
        request.onProgress(step);
      } catch (err) {
        logger.warn({ err }, 'a progress listener threw; the run goes on');
      }
    }
  });
  let stderrTail = '';
  const command = {
    file: options.ansiblePlaybook,
    args,
    env,
    cwd,
    runDir: cwd,
    stdout: (chunk: Buffer) => parser.push(chunk),
    stderr: (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    },
  };
  const warm = options.warm && (request.warm ?? options.warm.default) ? options.warm.pool : undefined;
  const child: Launched = (await warm?.launch(command)) ?? (await spawnLauncher(command));
  if (request.nice !== undefined && child.pid !== undefined) lowerPriority(child.pid, request.nice, logger);

  const pgid = child.pid;
  const untrack = pgid === undefined ? () => false : trackGroup(pgid);
  // Lets a restarted instance kill this run's group if we die with kill -9.
  if (pgid !== undefined) await recordOwner(cwd, pgid).catch((err: unknown) => logger.warn({ err }, 'cannot record run owner'));
  let exited = false;
  let stoppedBy: StopReason | undefined;
  let forceKill: NodeJS.Timeout | undefined;
  const stop = (reason: StopReason): void => {
    if (exited || stoppedBy || pgid === undefined) return;
    stoppedBy = reason;
    logger.debug({ playbook: request.playbook, reason }, 'stopping ansible-playbook');
    signalGroup(pgid, 'SIGTERM');
    const grace = request.killGraceMs ?? options.defaultKillGraceMs ?? 5000;
    forceKill = setTimeout(() => signalGroup(pgid, 'SIGKILL'), grace);
  };
  const onAbort = (): void => stop('abort');
  request.signal?.addEventListener('abort', onAbort, { once: true });
  if (request.signal?.aborted) stop('abort'); // aborted while the run directory was being prepared
  const timer = request.timeoutMs === undefined ? undefined : setTimeout(() => stop('timeout'), request.timeoutMs);

  const finished = await child.done;
  exited = true;
  clearTimeout(timer);
  clearTimeout(forceKill);
  request.signal?.removeEventListener('abort', onAbort);
  if (stoppedBy && pgid !== undefined) {
    // The leader is gone; anything left in its group is a straggler.
    signalGroup(pgid, 'SIGKILL');
    await waitGroupGone(pgid, REAP_WAIT_MS);
  }
  untrack();
  parser.end();

  if (finished.exitCode === null && finished.failure !== undefined && !stoppedBy) {
    // Could not start (ENOENT, EACCES) or killed by someone else (OOM killer): stderr does not say so, the launcher does.
    stderrTail = `${stderrTail}${stderrTail ? '\n' : ''}${finished.failure}`.slice(-STDERR_TAIL);
  }
  if (parser.noise.length > 0) logger.debug({ lines: parser.noise }, 'ansible-playbook stdout lines that are not events');

  const exitCode = finished.exitCode;
  const outcome = classifyOutcome(exitCode, parser.stats, stoppedBy);
  const result: Executed = { outcome, exitCode, tasks: parser.tasks, stats: parser.stats, data: parser.data, stderrTail, via: child.via };
  if (Object.keys(parser.hostData).length > 0) result.hostData = parser.hostData;
  const failedTask = outcome === 'ok' ? undefined : findFailedTask(parser.tasks, parser.stats);
  if (failedTask) result.failedTask = failedTask;
  return result;
}

/** Task results at debug, with host and task (results may carry secrets: the logger redacts them). */
function logTaskEvent(logger: Logger, event: AnsibleEvent): void {
  if (!event.event.startsWith('runner_') || event.event === 'runner_on_start' || !logger.isLevelEnabled('debug')) return;
  const fields: Record<string, unknown> = { ansibleEvent: event.event, task: event.task, host: event.host };
  for (const key of ['msg', 'item', 'changed', 'ignore_errors', 'result'] as const) if (event[key] !== undefined) fields[key] = event[key];
  logger.debug(fields, `ansible ${event.event.replace(/^runner_/, '')}: ${String(event.task ?? '')} on ${String(event.host ?? '?')}`);
}

/** Niceness for a background run; a failure only means the run competes for the CPU as an event's would. */
function lowerPriority(pid: number, nice: number, logger: Logger): void {
  try {
    setPriority(pid, Math.min(19, Math.max(0, Math.round(nice))));
  } catch (err) {
    logger.debug({ err, pid }, 'could not lower the priority of a background playbook run');
  }
}
