// Row `backlog-100k`: the backlog benchmark of issue 4 (bench/run.mjs) as a
// row. Each repetition runs `node bench/run.mjs --sizes N` (N = 100,000; 10,000
// with --quick): a backlog of N VM redeems on fresh topics, drained by a real
// Service in a fresh child process with a fake 5-20 ms playbook runner. The row
// reports the child's peak RSS (target: under 256 MiB), whether fetching
// paused (backpressure at consumer.max_queued) and the drain rate.
// bench/README.md, "Backlog benchmark", explains the method in full.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDist, requireKafka } from '../lib/dist.mjs';

const MiB = 1024 * 1024;

function runBacklog(ctx, n, out) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ctx.repo, 'bench', 'run.mjs'), '--sizes', String(n), '--out', out], {
      cwd: ctx.repo,
      env: { ...process.env, AMH_KAFKA_BROKERS: ctx.brokers.join(',') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr = (stderr + c).slice(-4000);
      for (const line of String(c).split('\n')) if (/results|produced|failed|could not/.test(line)) ctx.log(line.trim());
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`bench/run.mjs exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`))));
  });
}

/** @type {import('../lib/row.js').Row[]} */
export const rows = [
  {
    id: 'backlog-100k',
    title: 'a backlog of 100k events (10k quick): peak RSS of the service process and whether fetching paused',
    variants: ['service'],
    async setup(ctx) {
      await loadDist(ctx.repo);
      await requireKafka(ctx.brokers);
      ctx.state.n = ctx.quick ? 10_000 : 100_000;
    },
    async measure(_variant, ctx) {
      const out = join(ctx.tmp, `backlog-${Date.now()}.json`);
      await runBacklog(ctx, ctx.state.n, out);
      const run = JSON.parse(readFileSync(out, 'utf8')).runs[0];
      if (run.results + run.deadLettered < run.n) throw new Error(`only ${run.results} of ${run.n} events answered`);
      return {
        peak_rss_mib: run.peak.rss / MiB,
        // Which part grows: anonymous memory (heap, buffers) or file-backed pages (code, the ledger store's map).
        peak_rss_anon_mib: run.peak.rssAnon / MiB,
        peak_rss_file_mib: run.peak.rssFile / MiB,
        peak_heap_used_mib: run.peak.heapUsed / MiB,
        fetch_paused: run.pauses > 0 ? 1 : 0,
        pauses: run.pauses,
        pending_peak: run.pendingPeak,
        events_per_s: run.throughput,
        // CPU time of the service process per event: steadier than the drain rate on a shared machine.
        cpu_ms_per_event: ((run.cpuS ?? Number.NaN) * 1000) / run.n,
      };
    },
    checks: [
      { metric: 'peak_rss_mib', variant: 'service', target: { max: 256 } },
      // With max_queued 1000 a backlog far beyond it must pause fetching (1 = it did).
      { metric: 'fetch_paused', variant: 'service', target: { min: 1 } },
    ],
  },
];
