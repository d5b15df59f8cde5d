import type { PlaybookRunRequest, PlaybookRunResult, PlaybookRunner } from '../../src/ansible/types.js';

type Script = (request: PlaybookRunRequest) => Partial<PlaybookRunResult> | Promise<Partial<PlaybookRunResult>>;

/** A PlaybookRunner that records requests and answers from `script` (default: ok). */
export function fakeRunner(script: Script = () => ({})): PlaybookRunner & { calls: PlaybookRunRequest[] } {
  const calls: PlaybookRunRequest[] = [];
  const runner = async (request: PlaybookRunRequest): Promise<PlaybookRunResult> => {
    calls.push(request);
    const partial = await script(request);
    return {
      playbook: request.playbook,
      outcome: 'ok',
      exitCode: 0,
      tasks: [],
      stats: [{ host: 'localhost', ok: 3, changed: 1, failures: 0, unreachable: 0, skipped: 0, rescued: 0, ignored: 0 }],
      data: {},
      durationMs: 1,
      stderrTail: '',
      ...partial,
    };
  };
  return Object.assign(runner, { calls });
}

/** Resolves when `signal` aborts: stands in for a playbook that runs until killed. */
export function untilAborted(signal: AbortSignal | undefined, outcome: 'cancelled' | 'timed_out' = 'cancelled'): Promise<Partial<PlaybookRunResult>> {
  return new Promise((resolve) => {
    signal?.addEventListener('abort', () => resolve({ outcome, exitCode: null, stats: [] }), { once: true });
  });
}
