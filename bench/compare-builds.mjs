#!/usr/bin/env node
// Two builds of the service side by side on the pipeline (the `amh` variant of `pipeline-throughput`): one process,
// one backlog, the builds' drains alternating (A B, then B A, ...) after a warm-up drain of each, so both meet the
// same machine moments and neither pays for a cold JIT in its measured drains. For a change's own effect: the row's
// ratio against the relay moves with the machine by ±30 % between minutes; pairs drained seconds apart move less.
//
//   git worktree add /tmp/before <commit> && (cd /tmp/before && ln -s "$PWD/node_modules" . && npx tsc -p tsconfig.build.json)
//   npm run build && node bench/compare-builds.mjs --builds /tmp/before,. --reps 5
//
// Each build is a repository directory with `dist/` built; both read the same backlog (this checkout's row makes it).
// Both builds share one kafkajs: a build that installs the kafkajs encoder fast paths (src/kafka/kafkajs-encoder.ts)
// installs them for both, so a comparison shows the rest of a change; for the fast paths themselves, compare
// drains with them installed and uninstalled in one process.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rows } from './rows/pipeline.mjs';
import { median } from './stats.mjs';
import { benchBrokers } from './lib/brokers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const USAGE = `usage: node bench/compare-builds.mjs --builds <before>,<after> [--reps 5] [--warmup 1] [--events 5000|20000]
env: AMH_KAFKA_BROKERS (default 127.0.0.1:9092)`;

export function parseArgs(argv) {
  const o = { builds: [], reps: 5, warmup: 1, events: 5000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { ...o, help: true };
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg}: expected a value\n${USAGE}`);
    if (arg === '--builds') o.builds = value.split(',').map((b) => resolve(b));
    else if (arg === '--reps' || arg === '--warmup' || arg === '--events') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < (arg === '--warmup' ? 0 : 1)) throw new Error(`${arg}: expected a whole number${arg === '--warmup' ? '' : ' of at least 1'}, got ${value}`);
      o[arg.slice(2)] = n;
    } else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  if (o.builds.length !== 2) throw new Error(`--builds: expected two directories, before and after\n${USAGE}`);
  if (o.events !== 5000 && o.events !== 20000) throw new Error(`--events: the row's backlog is 5000 (quick) or 20000, got ${o.events}`);
  return o;
}

/**
 * Per build: the median events/s and CPU µs per event of its measured drains; and per pair (repetition i of
 * `after` over repetition i of `before`), the events/s ratios with their median.
 */
export function compareDrains(before, after) {
  const pairs = before.map((b, i) => after[i].events_per_s / b.events_per_s);
  const side = (d) => ({ events_per_s: median(d.map((r) => r.events_per_s)), cpu_us_per_event: median(d.map((r) => r.cpu_us_per_event)) });
  return { before: side(before), after: side(after), pairs, pairMedian: median(pairs) };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) return console.log(USAGE);
  const row = rows.find((r) => r.id === 'pipeline-throughput');
  const apis = await Promise.all(o.builds.map((b) => import(join(b, 'dist', 'index.js'))));
  const tmp = mkdtempSync(join(tmpdir(), 'amh-compare-'));
  const brokers = benchBrokers();
  const ctx = { quick: o.events === 5000, reps: o.reps, brokers, repo: join(HERE, '..'), tmp, log: (l) => console.error(`[compare] ${l}`), state: {} };
  const drains = [[], []];
  try {
    await row.setup(ctx);
    for (let rep = -o.warmup; rep < o.reps; rep++) {
      const order = (rep + o.warmup) % 2 === 0 ? [0, 1] : [1, 0];
      for (const k of order) {
        ctx.state.api = apis[k];
        const r = await row.measure('amh', ctx);
        console.error(`[compare] ${rep < 0 ? 'warm-up' : `rep ${rep + 1}`} ${k === 0 ? 'before' : 'after '} ${r.events_per_s} events/s, ${r.cpu_us_per_event} µs CPU per event`);
        if (rep >= 0) drains[k].push(r);
      }
    }
  } finally {
    await row.teardown(ctx);
    rmSync(tmp, { recursive: true, force: true });
  }
  const c = compareDrains(drains[0], drains[1]);
  console.log(`| build | events/s, median | CPU µs per event, median |\n|---|---|---|`);
  console.log(`| before ${o.builds[0]} | ${c.before.events_per_s} | ${c.before.cpu_us_per_event} |`);
  console.log(`| after ${o.builds[1]} | ${c.after.events_per_s} | ${c.after.cpu_us_per_event} |`);
  console.log(`\nafter/before per pair: ${c.pairs.map((p) => p.toFixed(2)).join(', ')} (median ${c.pairMedian.toFixed(2)})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
