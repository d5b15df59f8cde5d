// A PlaybookRunner without ansible for the benchmarks that measure the pipeline around the runs.

import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Sleeps a uniform time in `runMs` [min, max] ms (none for [0, 0]: a no-op handler) and reports a booted VM.
 * `runner.calls` counts the runs.
 */
export function fakeRunner([lo, hi] = [0, 0]) {
  const runner = async (request) => {
    runner.calls++;
    const ms = lo + Math.random() * (hi - lo);
    if (ms > 0) await sleep(ms);
    const vars = request.extraVars;
    const n = runner.calls;
    return {
      playbook: request.playbook,
      outcome: 'ok',
      exitCode: 0,
      tasks: [],
      stats: [{ host: 'localhost', ok: 3, changed: 1, failures: 0, unreachable: 0, skipped: 0, rescued: 0, ignored: 0 }],
      data: { vm: { instance_name: String(vars.instance_name), management_ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, worker: String(vars.worker ?? '') } },
      durationMs: Math.round(ms),
      stderrTail: '',
    };
  };
  runner.calls = 0;
  return runner;
}
