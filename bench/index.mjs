#!/usr/bin/env node
// `npm run bench`: every row of bench/rows/*.mjs, side by side with its
// baseline, printed as a markdown table and written to BENCHMARKS.md.
//
//   npm run bench                          # build, then all rows, 3 repetitions
//   npm run bench -- --quick               # smaller sizes (still at least 3 repetitions)
//   npm run bench -- --only codec,makespan-40 --reps 5
//   node bench/index.mjs --list            # the rows found, without running them
//
// The row contract is bench/lib/row.d.ts; how to read the table: README.md, "Benchmarks".

import { writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, machine } from './lib/machine.mjs';
import { formatValue, renderReport, summaryTable, tally } from './lib/report.mjs';
import { discover, runRow, select } from './lib/runner.mjs';
import { benchBrokers } from './lib/brokers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..');

const USAGE = `usage: npm run bench -- [options]     (or node bench/index.mjs after npm run build)
  --quick           smaller sizes in every row (repetitions stay at least 3)
  --reps N          repetitions of every variant (default 3; at least 3)
  --only a,b        run only these row ids
  --list            print the rows found and exit
  --out FILE        the report (default BENCHMARKS.md at the repo root; '-' for none)
  --rows DIR        where the row modules are (default bench/rows)
  --strict          exit 1 when a target is missed or a row failed
  --timeout MIN     a row's setup, each measurement and its teardown must finish within MIN minutes (default 30)
env: AMH_KAFKA_BROKERS (default 127.0.0.1:9092)`;

export function parseArgs(argv) {
  const o = { quick: false, reps: 3, only: [], list: false, out: join(REPO, 'BENCHMARKS.md'), rows: join(HERE, 'rows'), strict: false, timeoutMin: 30 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--quick': o.quick = true; break;
      case '--reps': {
        const v = next();
        o.reps = Number(v);
        if (!Number.isInteger(o.reps) || o.reps < 3) throw new Error(`--reps: expected a whole number of at least 3 (min/median/max need three), got ${v}`);
        break;
      }
      case '--only': o.only = next().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--list': o.list = true; break;
      case '--out': o.out = next(); break;
      case '--rows': o.rows = resolve(next()); break;
      case '--strict': o.strict = true; break;
      case '--timeout': {
        const v = next();
        o.timeoutMin = Number(v);
        if (!(o.timeoutMin > 0)) throw new Error(`--timeout: expected minutes > 0, got ${v}`);
        break;
      }
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  return o;
}

/** The command as it was typed (npm run bench, or node bench/index.mjs), with the broker when it was set. */
function commandLine(argv) {
  const env = process.env.AMH_KAFKA_BROKERS ? [`AMH_KAFKA_BROKERS=${process.env.AMH_KAFKA_BROKERS}`] : [];
  const viaNpm = process.env.npm_lifecycle_event === 'bench';
  const head = viaNpm ? ['npm run bench', ...(argv.length ? ['--'] : [])] : ['node bench/index.mjs'];
  return [...env, ...head, ...argv].join(' ');
}

async function main() {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  const all = await discover(o.rows);
  if (o.list) {
    for (const r of all) console.log(`${r.id.padEnd(24)} ${r.title}${r.broken ? `  (cannot run: ${r.broken})` : ''}`);
    return;
  }
  const rows = select(all, o.only);
  const meta = { ...machine(REPO), reps: o.reps, quick: o.quick, command: commandLine(argv) };
  const brokers = benchBrokers();
  const log = (line) => process.stderr.write(`${line}\n`);
  log(`bench: ${rows.length} rows, ${o.reps} repetitions${o.quick ? ', quick' : ''}; load ${meta.loadBefore}`);
  const results = [];
  for (const row of rows) {
    const t0 = performance.now();
    log(`[${row.id}] ${row.title}`);
    const result = await runRow(row, { quick: o.quick, reps: o.reps, brokers, repo: REPO, log, timeoutMs: o.timeoutMin * 60_000 }, (variant, rep, m) => {
      log(`[${row.id}] rep ${rep + 1} ${variant}: ${Object.entries(m).map(([k, v]) => `${k}=${formatValue(v, k)}`).join(' ')}`);
    });
    log(`[${row.id}] ${result.status}${result.reason ? `: ${result.reason}` : ''} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    results.push(result);
  }
  meta.loadAfter = load();
  console.log(summaryTable(results));
  const t = tally(results);
  console.log(`\n${t.pass} pass, ${t.FAIL} FAIL, ${t['n/a']} n/a, ${t['not run']} not run, ${t.failed} failed; load before ${meta.loadBefore}, after ${meta.loadAfter}`);
  if (o.out !== '-') {
    writeFileSync(o.out, renderReport(results, meta));
    log(`bench: report written to ${relative(process.cwd(), o.out) || o.out}`);
  }
  if (o.strict && (t.FAIL > 0 || t.failed > 0)) process.exitCode = 1;
}

main()
  .catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  })
  // A row that leaves a handle open (a client not disconnected) must not keep the command from ending.
  .finally(() => setTimeout(() => process.exit(), 2000).unref());
