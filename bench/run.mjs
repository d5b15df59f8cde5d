#!/usr/bin/env node
// Backlog benchmark (issue 4: "memory stays flat with a backlog of 100k events").
//
//   npm run bench:backlog              # build, then N = 10,000 and N = 100,000 side by side
//   node bench/run.mjs --sizes 5000    # other sizes (comma-separated); needs a build (npm run build)
//   node bench/run.mjs --child 10000   # one measurement, in this process (what the parent spawns)
//
// For each N, a fresh child process (node --expose-gc) produces a backlog of N
// VM redeems of N distinct slivers onto fresh topics, then starts a real Service
// (the built package, ../dist) with a fake PlaybookRunner (5-20 ms per run, ok),
// samples memory, `service.pending` and the backpressure state every 250 ms
// while it drains the backlog, and stops when all N results are published.
// The parent prints the runs side by side and writes bench/results/latest.json.
// See bench/README.md for how to read the numbers.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { stringify } from 'yaml';
import { vmRedeem } from './lib/events.mjs';
import { fakeRunner } from './lib/fake-runner.mjs';
import { createTopicsReady } from './lib/topics.mjs';
import { AvroCodec, SchemaCatalog, Service, applyHeapPolicy, createLogger, loadConfig, silentLogger } from '../dist/index.js';
import { benchBrokers } from './lib/brokers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPT = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;
const mb = (b) => (b / MB).toFixed(1);
const int = (n) => n.toLocaleString('en-US');

// ---------------------------------------------------------------- options

const DEFAULTS = {
  sizes: [10_000, 100_000],
  concurrency: 10,
  maxQueued: 1000,
  partitions: 3,
  runMs: [5, 20],
  produceBatch: 1000,
  sampleMs: 250,
  timeoutS: 1800,
  keepTopics: false,
  // The service's semi-space bound, as the Dockerfile's NODE_OPTIONS sets it (README "Memory").
  nodeFlags: ['--max-semi-space-size=4'],
  heapGrowingPercent: null,
  out: join(HERE, 'results', 'latest.json'),
};

const USAGE = `usage: node bench/run.mjs [options]
  --sizes 10000,100000   backlog sizes, one fresh child process each (default 10000,100000)
  --concurrency 10       consumer.concurrency
  --max-queued 1000      consumer.max_queued (the bound on accepted, unanswered events)
  --partitions 3         partitions of the events (and reply, state) topics
  --run-ms 5-20          fake playbook run time, uniform in [min, max] ms
  --produce-batch 1000   messages per producer send while building the backlog
  --sample-ms 250        sampling interval
  --timeout 1800         give up on one N after this many seconds
  --keep-topics          do not delete the benchmark's topics afterwards
  --node-flags 'F ...'   node/V8 flags of the measured child (default '--max-semi-space-size=4', as the Dockerfile; '' for none)
  --heap-growing-percent N   runtime.heap_growing_percent of the service (default: the config default; 0: V8's own)
  --out FILE             results JSON (default bench/results/latest.json)
  --child N              run one measurement in this process and report it (used by the parent)
  --tag TAG              (with --child) consume the backlog the parent prepared on amh-bench-TAG.* topics
env: AMH_KAFKA_BROKERS (default 127.0.0.1:9092), AMH_BENCH_LOG=info|debug (service log on stderr)`;

function parseArgs(argv) {
  const o = { ...DEFAULTS, child: null, tag: null };
  const num = (v, name) => {
    const n = Number(String(v).replace(/_/g, ''));
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--sizes': o.sizes = next().split(',').map((s) => num(s, '--sizes')); break;
      case '--concurrency': o.concurrency = num(next(), a); break;
      case '--max-queued': o.maxQueued = num(next(), a); break;
      case '--partitions': o.partitions = num(next(), a); break;
      case '--run-ms': {
        const [lo, hi = lo] = next().split('-').map((s) => num(s, a));
        o.runMs = [Math.min(lo, hi), Math.max(lo, hi)];
        break;
      }
      case '--produce-batch': o.produceBatch = num(next(), a); break;
      case '--sample-ms': o.sampleMs = num(next(), a); break;
      case '--timeout': o.timeoutS = num(next(), a); break;
      case '--keep-topics': o.keepTopics = true; break;
      case '--node-flags': o.nodeFlags = next().split(/\s+/).filter(Boolean); break;
      case '--heap-growing-percent': o.heapGrowingPercent = Number(next()); break;
      case '--out': o.out = next(); break;
      case '--child': o.child = num(next(), a); break;
      case '--tag': o.tag = next(); break;
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  return o;
}

/** Options a child needs, as arguments (everything but sizes/out/child). */
function childArgs(o) {
  const args = ['--concurrency', o.concurrency, '--max-queued', o.maxQueued, '--partitions', o.partitions,
    '--run-ms', `${o.runMs[0]}-${o.runMs[1]}`, '--produce-batch', o.produceBatch, '--sample-ms', o.sampleMs,
    '--timeout', o.timeoutS];
  if (o.keepTopics) args.push('--keep-topics');
  if (o.heapGrowingPercent !== null) args.push('--heap-growing-percent', o.heapGrowingPercent);
  return args.map(String);
}

const brokers = () => benchBrokers();
const log = (...parts) => process.stderr.write(`[bench${process.env.AMH_BENCH_TAG ? ` ${process.env.AMH_BENCH_TAG}` : ''}] ${parts.join(' ')}\n`);

// ---------------------------------------------------------------- child: one measurement

const topicsFor = (tag) => ({
  events: `amh-bench-${tag}.events`,
  replies: `amh-bench-${tag}.replies`,
  dead_letter: `amh-bench-${tag}.dlq`,
  state: `amh-bench-${tag}.state`,
});
const kafkaClient = () => new Kafka({ clientId: 'amh-bench', brokers: brokers(), logLevel: logLevel.NOTHING });

/**
 * Fresh topics (as `amh run` creates them: the state topic compacted and
 * co-partitioned with events) and a backlog of N events on the events topic.
 */
async function prepareBacklog(N, o) {
  const tag = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const topics = topicsFor(tag);
  const kafka = kafkaClient();
  await createTopicsReady(kafka, [
    ...[topics.events, topics.replies, topics.dead_letter].map((topic) => ({ topic, numPartitions: o.partitions })),
    { topic: topics.state, numPartitions: o.partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
  ]);
  const produced = await produceBacklog(kafka, topics.events, N, tag, o.produceBatch);
  log(`N=${N}: backlog of ${int(N)} events (${(produced.bytes / MB).toFixed(1)} MB) produced in ${(produced.ms / 1000).toFixed(1)} s`);
  return { tag, topics, produced: { ms: Math.round(produced.ms), bytes: produced.bytes, perSecond: Math.round(N / (produced.ms / 1000)) } };
}

async function deleteTopics(topics) {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: Object.values(topics) });
  } catch (err) {
    log(`could not delete topics ${Object.values(topics).join(', ')}: ${err.message}`);
  } finally {
    await admin.disconnect();
  }
}

/**
 * One measurement: consume the backlog with a real Service. With `--tag` the
 * parent has prepared the backlog (so producing it does not inflate this
 * process's RSS); alone, the child prepares it itself.
 */
async function child(o) {
  const N = o.child;
  if (typeof globalThis.gc !== 'function') log('warning: run with node --expose-gc for the retained-heap numbers');
  const gc = () => globalThis.gc?.();
  const prepared = o.tag ? { tag: o.tag, topics: topicsFor(o.tag), produced: null } : await prepareBacklog(N, o);
  const { tag, topics } = prepared;
  const dir = mkdtempSync(join(tmpdir(), 'amh-bench-'));
  try {
    const config = writeConfig(dir, topics, tag, o);
    // What `amh run` does before it starts the service (runtime.heap_growing_percent).
    const heapPolicy = applyHeapPolicy(config.runtime.heap_growing_percent);
    const runner = fakeRunner(o.runMs);
    const level = process.env.AMH_BENCH_LOG;
    const service = new Service({
      config,
      logger: level ? createLogger({ level, destination: 2 }) : silentLogger(),
      runner,
      instanceId: `bench-${tag}`,
    });

    // Baseline: everything loaded, the backlog's buffers collected, nothing consumed yet.
    gc();
    await sleep(50);
    gc();
    const baseline = process.memoryUsage();

    let results = 0;
    let replayed = 0;
    let deadLettered = 0;
    const outcomes = {};
    let paused = false;
    let pauses = 0;
    let resumes = 0;
    let firstQueuedAt = null;
    let pendingAtPause = 0;
    let done;
    const allDone = new Promise((resolve) => (done = resolve));
    // Exact peak of accepted-unanswered messages: pending only grows when a message is accepted,
    // and 'queued' fires right after (once it is decoded); the 250 ms samples can miss the top.
    let pendingPeakExact = 0;
    service.events.on('queued', () => {
      firstQueuedAt ??= performance.now();
      pendingPeakExact = Math.max(pendingPeakExact, service.pending);
    });
    service.events.on('result', ({ result, replayed: again }) => {
      results++;
      // Re-published answers of events delivered again (after a rebalance: a heartbeat missed on a loaded machine).
      if (again) replayed++;
      outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
      if (results + deadLettered >= N) done();
    });
    service.events.on('deadLettered', () => {
      deadLettered++;
      if (results + deadLettered >= N) done();
    });
    service.events.on('backpressure', ({ paused: p, queued }) => {
      paused = p;
      if (p) {
        pauses++;
        pendingAtPause = Math.max(pendingAtPause, queued);
      } else resumes++;
    });
    let fatal = null;
    service.events.on('fatal', ({ error }) => {
      fatal = error;
      done();
    });

    const samples = [];
    const peak = { rss: 0, heapUsed: 0, external: 0, pending: 0, lanes: 0, rssAnon: 0, rssFile: 0 };
    const t0 = performance.now();
    const loadAvg0 = loadavg()[0];
    // CPU time of this process (the service): on a shared machine a steadier cost per event than the drain rate.
    const cpu0 = process.cpuUsage();
    const sample = () => {
      const m = process.memoryUsage();
      const s = {
        t: Math.round(performance.now() - t0),
        rss: m.rss,
        heapUsed: m.heapUsed,
        external: m.external,
        pending: service.pending,
        lanes: service.lanes.size,
        running: service.lanes.running,
        paused,
        results,
      };
      samples.push(s);
      peak.rss = Math.max(peak.rss, s.rss);
      // RSS = anonymous memory (heap, buffers) + file-backed pages (code, and the ledger store's memory map,
      // which the kernel can drop and re-read): the split says which one grows.
      const split = rssSplit();
      peak.rssAnon = Math.max(peak.rssAnon, split.anon);
      peak.rssFile = Math.max(peak.rssFile, split.file);
      peak.heapUsed = Math.max(peak.heapUsed, s.heapUsed);
      peak.external = Math.max(peak.external, s.external);
      peak.pending = Math.max(peak.pending, s.pending);
      peak.lanes = Math.max(peak.lanes, s.lanes);
      return s;
    };
    sample();
    const sampler = setInterval(sample, o.sampleMs);
    const progress = setInterval(() => {
      const s = samples.at(-1);
      log(`N=${N}: ${results}/${N} results, pending ${s.pending}${paused ? ' (paused)' : ''}, heap ${(s.heapUsed / MB).toFixed(0)} MB, rss ${(s.rss / MB).toFixed(0)} MB`);
    }, 10_000);
    const timeout = setTimeout(() => {
      fatal = new Error(`timed out after ${o.timeoutS} s with ${results}/${N} results`);
      done();
    }, o.timeoutS * 1000);

    await service.start();
    const startedAt = performance.now();
    await allDone;
    const doneAt = performance.now();
    const cpu = process.cpuUsage(cpu0);
    clearTimeout(timeout);
    clearInterval(sampler);
    clearInterval(progress);
    const last = sample(); // the final sample, right after the N-th result (before any GC)
    if (fatal) throw fatal;

    // What stays on the heap after the backlog is drained (the service is still running).
    gc();
    await sleep(50);
    gc();
    const retained = process.memoryUsage();
    // Diagnostic only: the ledger store's in-memory table (a private field; null if its shape changes).
    // Emptying it (nothing is in flight any more) and collecting again shows how much of what
    // stays is the ledgers: the rest is what the drained backlog left elsewhere.
    const ledgers = service.store?.ledgers;
    const ledgerCount = ledgers instanceof Map ? ledgers.size : null;
    // Diagnostic only: entries the long-lived shutdown signal (a private field) keeps for the
    // AbortSignal.any() composites made per event (Node keeps a WeakRef per observed composite).
    const shutdownSignal = service.cancel?.signal;
    const dependants = shutdownSignal && Object.getOwnPropertySymbols(shutdownSignal).find((sym) => sym.description === 'kDependantSignals');
    const shutdownDependants = dependants ? (shutdownSignal[dependants]?.size ?? 0) : null;
    let withoutLedgers = null;
    if (ledgers instanceof Map) {
      ledgers.clear();
      gc();
      await sleep(50);
      gc();
      withoutLedgers = pick(process.memoryUsage());
    }

    await service.stop();

    const drainS = (doneAt - (firstQueuedAt ?? startedAt)) / 1000;
    const report = {
      n: N,
      topics,
      heapPolicy,
      produce: prepared.produced,
      startMs: Math.round(startedAt - t0),
      wallMs: Math.round(doneAt - t0),
      drainMs: Math.round(drainS * 1000),
      throughput: Math.round(N / drainS),
      cpuS: (cpu.user + cpu.system) / 1e6,
      results,
      replayed,
      deadLettered,
      outcomes,
      fakeRuns: runner.calls,
      baseline: pick(baseline),
      peak,
      final: { rss: last.rss, heapUsed: last.heapUsed, external: last.external },
      retained: pick(retained),
      pendingAtPause,
      pendingPeakExact,
      pauses,
      resumes,
      ledgerCount,
      withoutLedgers,
      shutdownDependants,
      // Share of the samples where nothing was accepted and unanswered, fetching was not paused,
      // and the backlog was not finished: the consumer sat idle with work waiting on the broker.
      idleWithBacklog: samples.filter((x) => x.pending === 0 && !x.paused && x.results > 0 && x.results < N).length / Math.max(1, samples.length),
      // Other work on the machine (tests, the broker) competes for the same cores: 1-minute load average.
      loadAvg: { start: loadAvg0, end: loadavg()[0] },
      samples: samples.map((s) => [s.t, s.rss, s.heapUsed, s.external, s.pending, s.lanes, s.running, s.paused ? 1 : 0, s.results]),
      sampleColumns: ['t_ms', 'rss', 'heapUsed', 'external', 'pending', 'lanes', 'running', 'paused', 'results'],
    };
    report.pendingPeak = Math.max(pendingPeakExact, pendingAtPause, peak.pending);
    return report;
  } finally {
    if (!o.tag && !o.keepTopics) await deleteTopics(topics);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** RssAnon and RssFile + RssShmem of this process in bytes (NaN where /proc is missing). */
function rssSplit() {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1] ?? Number.NaN) * 1024;
    return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
  } catch {
    return { anon: Number.NaN, file: Number.NaN };
  }
}

function pick(m) {
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

/** N VM redeems of N distinct slivers, keyed by sliver id, single-object Avro, `batch` per send. */
async function produceBacklog(kafka, topic, N, tag, batch) {
  const codec = new AvroCodec(SchemaCatalog.load());
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const t = performance.now();
  let bytes = 0;
  try {
    for (let from = 0; from < N; from += batch) {
      const messages = [];
      for (let i = from; i < Math.min(N, from + batch); i++) {
        const sliverId = `bench-${tag}-${i}`;
        const value = codec.encode('event', vmRedeem(sliverId));
        bytes += value.length;
        messages.push({ key: sliverId, value });
      }
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
  return { ms: performance.now() - t, bytes };
}

function writeConfig(dir, topics, tag, o) {
  const yaml = {
    kafka: {
      brokers: brokers(),
      client_id: 'amh-bench',
      group_id: `amh-bench-${tag}`,
      topics,
      create_topics: false,
      partitions: o.partitions,
      session_timeout: '10s',
    },
    consumer: { concurrency: o.concurrency, max_queued: o.maxQueued },
    // The ledger store in the run's own dir (removed afterwards), not the default ../var/ledgers beside it.
    runtime: { work_dir: join(dir, 'runs'), ledger_dir: join(dir, 'ledgers'), ...(o.heapGrowingPercent !== null ? { heap_growing_percent: o.heapGrowingPercent } : {}) },
    logging: { level: 'silent' },
    http: { enabled: false },
    handlers: {
      vm: { plugin: 'vm', substrate: { state_dir: join(dir, 'sim') } },
    },
  };
  const file = join(dir, 'amh.yaml');
  writeFileSync(file, stringify(yaml));
  return loadConfig({ path: file, env: {} });
}


// ---------------------------------------------------------------- parent: side by side

async function measure(n, o) {
  const prepared = await prepareBacklog(n, o);
  try {
    const report = await runChild(n, prepared.tag, o);
    return { ...report, produce: prepared.produced };
  } finally {
    if (!o.keepTopics) await deleteTopics(prepared.topics);
  }
}

function runChild(n, tag, o) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', ...o.nodeFlags, SCRIPT, '--child', String(n), '--tag', tag, ...childArgs(o)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, AMH_BENCH_TAG: `N=${n}` },
    });
    let report = null;
    proc.on('message', (m) => {
      if (m?.error) reject(new Error(`N=${n}: ${m.error}`));
      else report = m;
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (report) resolve(report);
      else reject(new Error(`N=${n}: child exited with ${signal ?? code} without a report`));
    });
  });
}


function table(runs, o) {
  const rows = [
    ['backlog N', (r) => int(r.n)],
    ['produce backlog (s)', (r) => (r.produce.ms / 1000).toFixed(1)],
    ['service start (s)', (r) => (r.startMs / 1000).toFixed(1)],
    ['wall: start -> last result (s)', (r) => (r.wallMs / 1000).toFixed(1)],
    ['drain: first event -> last result (s)', (r) => (r.drainMs / 1000).toFixed(1)],
    ['throughput (events/s)', (r) => int(r.throughput)],
    ['service CPU per event (ms)', (r) => (r.cpuS === undefined ? 'n/a' : ((r.cpuS * 1000) / r.n).toFixed(2))],
    ['results re-published (delivered again)', (r) => int(r.replayed ?? 0)],
    ['results (outcomes)', (r) => `${int(r.results)} (${Object.entries(r.outcomes).map(([k, v]) => `${k} ${int(v)}`).join(', ')})`],
    ['heapUsed baseline (MB)', (r) => mb(r.baseline.heapUsed)],
    ['heapUsed peak (MB)', (r) => mb(r.peak.heapUsed)],
    ['heapUsed final (MB)', (r) => mb(r.final.heapUsed)],
    ['heapUsed retained after GC (MB)', (r) => mb(r.retained.heapUsed)],
    ['RSS baseline (MB)', (r) => mb(r.baseline.rss)],
    ['RSS peak (MB)', (r) => mb(r.peak.rss)],
    ['RSS final (MB)', (r) => mb(r.final.rss)],
    ['RSS peak: anonymous / file-backed (MB)', (r) => `${mb(r.peak.rssAnon ?? Number.NaN)} / ${mb(r.peak.rssFile ?? Number.NaN)}`],
    ['external (Buffers) peak (MB)', (r) => mb(r.peak.external)],
    ['external retained after GC (MB)', (r) => mb(r.retained.external)],
    [`pending peak, exact (bound ${o.maxQueued})`, (r) => int(r.pendingPeak)],
    ['pending peak, 250 ms samples', (r) => int(r.peak.pending)],
    ['pause/resume cycles', (r) => `${r.pauses}/${r.resumes}`],
    ['idle with backlog left (% of samples)', (r) => `${(r.idleWithBacklog * 100).toFixed(0)} %`],
    ['ledgers held in memory', (r) => (r.ledgerCount === null ? 'n/a' : int(r.ledgerCount))],
    ['heap + external, ledgers (MB)', (r) => (r.withoutLedgers ? mb(r.retained.heapUsed + r.retained.external - r.withoutLedgers.heapUsed - r.withoutLedgers.external) : 'n/a')],
    ['heap + external, ledgers per sliver (B)', (r) => (r.withoutLedgers && r.ledgerCount ? int(Math.round((r.retained.heapUsed + r.retained.external - r.withoutLedgers.heapUsed - r.withoutLedgers.external) / r.ledgerCount)) : 'n/a')],
    ['heapUsed retained w/o ledgers (MB)', (r) => (r.withoutLedgers ? mb(r.withoutLedgers.heapUsed) : 'n/a')],
    ['shutdown signal dependants (WeakRefs)', (r) => (r.shutdownDependants === null ? 'n/a' : int(r.shutdownDependants))],
    ['load average (1 min) start/end', (r) => `${r.loadAvg.start.toFixed(1)}/${r.loadAvg.end.toFixed(1)}`],
  ];
  const head = ['', ...runs.map((r) => `N = ${int(r.n)}`)];
  const body = rows.map(([label, f]) => [label, ...runs.map(f)]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((row) => String(row[i]).length)));
  const line = (row) => row.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function comparison(runs) {
  const byN = [...runs].sort((a, b) => a.n - b.n);
  const small = byN[0];
  const big = byN.at(-1);
  if (!small || small === big) return null;
  const grow = (f) => f(big) / f(small);
  // The part of the retained heap that scales with the number of distinct slivers seen.
  const perSliver = (big.retained.heapUsed - small.retained.heapUsed) / (big.n - small.n);
  const perSliverExternal = (big.retained.external - small.retained.external) / (big.n - small.n);
  return {
    small: small.n,
    big: big.n,
    sizeRatio: big.n / small.n,
    peakHeapUsedRatio: grow((r) => r.peak.heapUsed),
    peakRssRatio: grow((r) => r.peak.rss),
    retainedHeapRatio: grow((r) => r.retained.heapUsed),
    peakPendingRatio: grow((r) => r.pendingPeak),
    throughputRatio: grow((r) => r.throughput),
    retainedBytesPerSliver: Math.round(perSliver),
    retainedExternalBytesPerSliver: Math.round(perSliverExternal),
  };
}

async function parent(o) {
  const runs = [];
  const t = performance.now();
  for (const n of o.sizes) {
    runs.push(await measure(n, o));
  }
  const cmp = comparison(runs);
  const out = [
    `am-handlers backlog benchmark  ${new Date().toISOString()}  node ${process.version}, ${cpus().length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GB`,
    `concurrency ${o.concurrency}, max_queued ${o.maxQueued}, ${o.partitions} partitions, fake playbook ${o.runMs[0]}-${o.runMs[1]} ms, distinct slivers`,
    `service process: node ${o.nodeFlags.join(' ') || '(no flags)'}, heap_growing_percent ${runs[0]?.heapPolicy?.heapGrowingPercent ?? 'V8 default'}`,
    '',
    table(runs, o),
  ];
  if (cmp) {
    out.push(
      '',
      `${int(cmp.big)} / ${int(cmp.small)} (x${cmp.sizeRatio} events): peak heapUsed x${cmp.peakHeapUsedRatio.toFixed(2)}, peak RSS x${cmp.peakRssRatio.toFixed(2)}, ` +
        `retained heap x${cmp.retainedHeapRatio.toFixed(2)}, peak pending x${cmp.peakPendingRatio.toFixed(2)}, throughput x${cmp.throughputRatio.toFixed(2)}`,
      `retained per distinct sliver (difference of the two runs, after GC): heap ${int(cmp.retainedBytesPerSliver)} bytes + external ${int(cmp.retainedExternalBytesPerSliver)} bytes`,
    );
  }
  // kafkajs checks the pause only after a message: each batch of another partition already fetched
  // when fetching paused still hands over its first message (one broker: at most partitions - 1 extra).
  const peakPending = Math.max(...runs.map((r) => r.pendingPeak));
  const allowed = o.maxQueued + o.partitions - 1;
  out.push(
    peakPending <= allowed
      ? `pending stayed within the bound: peak ${int(peakPending)} <= max_queued ${int(o.maxQueued)} + ${o.partitions - 1} (partitions - 1, kafkajs hands over the first message of each batch already fetched)`
      : `PENDING EXCEEDED THE BOUND: peak ${int(peakPending)} > max_queued ${int(o.maxQueued)} + ${o.partitions - 1}`,
  );
  out.push(`total ${((performance.now() - t) / 1000).toFixed(0)} s`);
  console.log(out.join('\n'));

  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(
    o.out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { node: process.version, cores: cpus().length, cpu: cpus()[0]?.model, totalMemBytes: totalmem(), platform: process.platform },
        options: { ...o, out: undefined, child: undefined, tag: undefined },
        comparison: cmp,
        runs,
      },
      null,
      1,
    ) + '\n',
  );
  log(`results written to ${o.out}`);
}

// ---------------------------------------------------------------- main

const opts = (() => {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
})();

if (opts.child !== null) {
  try {
    const report = await child(opts);
    if (process.send) process.send(report, () => process.exit(0));
    else {
      console.log(JSON.stringify(report, (k, v) => (k === 'samples' ? undefined : v), 1));
      process.exit(0);
    }
  } catch (err) {
    log(`N=${opts.child} failed: ${err?.stack ?? err}`);
    process.exitCode = 1;
    if (process.send) process.send({ error: String(err?.message ?? err) }, () => process.exit(1));
    else process.exit(1);
  }
} else {
  try {
    await parent(opts);
  } catch (err) {
    console.error(err.message);
    process.exitCode = 1;
  }
}
