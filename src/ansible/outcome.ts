import type { HostStats, PlaybookOutcome } from './types.js';

/** Why we stopped the run ourselves, if we did. */
export type StopReason = 'timeout' | 'abort';

/**
 * ansible-playbook exit codes: 0 ok, 1 error, 2 a host failed, 4 a host was
 * unreachable OR the playbook could not be parsed, 5 bad options, 99 user
 * interrupt, 250 unexpected error. Our own kill wins over whatever code the
 * dying process reported.
 */
export function classifyOutcome(
  exitCode: number | null,
  stats: readonly HostStats[],
  stoppedBy?: StopReason,
): PlaybookOutcome {
  if (stoppedBy === 'abort') return 'cancelled';
  if (stoppedBy === 'timeout') return 'timed_out';
  switch (exitCode) {
    case 0:
      return 'ok';
    case 2:
      return 'failed';
    case 4:
      // Parse errors also exit 4, but then no host ever ran.
      return stats.some((s) => s.unreachable > 0) ? 'unreachable' : 'error';
    default:
      return 'error';
  }
}
