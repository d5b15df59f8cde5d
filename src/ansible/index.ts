export type {
  HostStats,
  PlaybookOutcome,
  PlaybookRunner,
  PlaybookRunRequest,
  PlaybookRunResult,
  TaskProgress,
  TaskResult,
  TaskStatus,
} from './types.js';
export { AnsibleEventParser, findFailedTask, parseEventLine, type AnsibleEvent } from './events.js';
export { ProgressTracker } from './progress.js';
export { classifyOutcome } from './outcome.js';
export { locateAnsiblePlaybook } from './locate.js';
export { createPlaybookRunner, type PlaybookRunnerOptions } from './runner.js';
export { reapOrphanRuns } from './orphans.js';
export { WarmPool, type WarmPoolOptions, type ZygoteStats, type FallbackReason } from './warm/pool.js';
