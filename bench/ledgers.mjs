#!/usr/bin/env node
// Ledger benchmark (issue 8: "Ledgers for a million slivers").
//
//   npm run bench:ledgers                    # build, then N = 100,000 and N = 1,000,000 side by side
//   node bench/ledgers.mjs --quick           # N = 20,000 and 100,000 (needs a build: npm run build)
//   node bench/ledgers.mjs --sizes 100000 --refill
//
// 1. Fill (cached): a compacted state topic of 12 partitions holding N distinct
//    slivers, 2-4 ledger versions each (one per answer, with growing `entries`),
//    10 % of them closed. Built with the package's own ledger functions and codec.
//    The topic name carries N, the fill's version and the state schema's
//    fingerprint, so a re-run finds it and skips the fill (`--refill` forces it).
//    The fill is bench/ledgers-fill.mjs.
// 2. Measure, each in a fresh child (node --expose-gc), for one instance that owns
//    partitions 0-3 (a third): cold restore, warm restart, RSS and heapUsed after a
//    GC, the local store on disk, and the hot path (`store.get` + `decide`) p50/p99
//    over random owned slivers. The store is the partitioned one of issue 8
//    (dist/state/partitioned-store.js) when it is built, and always the baseline
//    (dist/state/kafka-store.js, the whole topic in memory) for comparison.
// See bench/README.md ("Ledger benchmark") for how to read the numbers.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { AvroCodec, SchemaCatalog, silentLogger } from '../dist/index.js';
import { decide } from '../dist/state/ledger.js';
import { PARTITIONS, ensureFilled, sliverIdOf } from './ledgers-fill.mjs';
import { mib, percentile, ratio, verdict } from './stats.mjs';
import { benchBrokers } from './lib/brokers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPT = fileURLToPath(import.meta.url);
const RESULTS = join(HERE, 'results');
const OWNED = [0, 1, 2, 3];
const TARGETS = { rssMiB: 256, warmS: 5, coldS: 60, p99Ms: 1 };
const STORES = {
  baseline: 'baseline: whole-topic in-memory store (before issue 8)',
  partitioned: 'partitioned store (issue 8)',
};
const BUILT_PARTITIONED_MODULE = join(HERE, '..', 'dist', 'state', 'partitioned-store.js');

const USAGE = `usage: node bench/ledgers.mjs [options]
  --sizes 100000,1000000  numbers of distinct slivers (default), one cached state topic each
  --quick                 = --sizes 20000,100000
  --refill                delete and fill the state topics again even if a complete one exists
  --probes 100000         hot-path lookups (store.get + decide) per measurement
  --stores baseline,partitioned   which stores to measure (default: both when partitioned-store.js is built)
  --timeout 900           give up on one child after this many seconds
  --partitioned-module F  the module exporting PartitionedLedgerStore (default dist/state/partitioned-store.js)
  --child-min-records 20000  partitioned store: restores of at least this many records go to a child process
                          (runtime.ledger_restore_child_min_records, same default); 'off' restores in-process
env: AMH_KAFKA_BROKERS (default 127.0.0.1:9092), AMH_KAFKA_VERSION (printed; default 4.1.1 as scripts/kafka.sh)`;

function parseArgs(argv) {
  const o = { sizes: [100_000, 1_000_000], refill: false, probes: 100_000, stores: null, timeoutS: 900, child: null, partitionedModule: BUILT_PARTITIONED_MODULE, childMinRecords: 20_000 };
  const num = (v, name) => {
    const n = Number(String(v).replace(/_/g, ''));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: expected a positive integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--sizes': o.sizes = next().split(',').map((s) => num(s, a)); break;
      case '--quick': o.sizes = [20_000, 100_000]; break;
      case '--refill': o.refill = true; break;
      case '--probes': o.probes = num(next(), a); break;
      case '--stores': o.stores = next().split(','); break;
      case '--timeout': o.timeoutS = num(next(), a); break;
      case '--partitioned-module': o.partitionedModule = next(); break;
      case '--child-min-records': { const v = next(); o.childMinRecords = v === 'off' ? null : v === '0' ? 0 : num(v, a); break; }
      case '--child': o.child = JSON.parse(next()); break;
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  for (const s of o.stores ?? []) if (!(s in STORES)) throw new Error(`--stores: expected baseline or partitioned, got ${s}`);
  o.sizes.sort((a, b) => a - b);
  return o;
}

const brokers = () => benchBrokers();
const kafkaClient = (clientId = 'amh-ledbench') => new Kafka({ clientId, brokers: brokers(), logLevel: logLevel.NOTHING });
const log = (line) => process.stderr.write(`[ledgers] ${line}\n`);
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const sec = (ms) => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : 'n/a');

// ---------------------------------------------------------------- child: one restore, in a fresh process

const partitionOf = (() => {
  // The producer's partitioner (murmur2 of the key), so the child knows which slivers its partitions hold.
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({ partitionId, leader: 1 }));
  return (key) => partitioner({ topic: 't', partitionMetadata, message: { key } });
})();

function dirBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

async function collect() {
  for (let k = 0; k < 3; k++) {
    globalThis.gc?.();
    await sleep(20);
  }
}

/** `{ store, kind, restoreMs }`: the partitioned store when asked for, else the baseline. */
async function openStore(c, deps) {
  const t = performance.now();
  if (c.store === 'partitioned') {
    const { PartitionedLedgerStore } = await import(c.module);
    // As the service does (service.ts childRestore): bulk restores in a child process that connects like this one.
    const restoreInChild = c.childMinRecords === null ? undefined : { connection: { brokers: brokers(), clientId: 'amh-ledbench-restore' }, minRecords: c.childMinRecords };
    const store = new PartitionedLedgerStore({ ...deps, dir: c.dir, restoreInChild });
    await store.start();
    const started = performance.now();
    const watch = watchChildren(store);
    await store.assign(OWNED);
    const restoreMs = performance.now() - t;
    return { store, startMs: started - t, restoreMs, children: await watch.stop() };
  }
  const { KafkaLedgerStore } = await import('../dist/state/kafka-store.js');
  // The default catch-up deadline (30 s) is for the service's start-up retries; here one restore must simply finish.
  const store = new KafkaLedgerStore({ ...deps, readBackTimeoutMs: 1_800_000 });
  await store.start();
  return { store, startMs: Number.NaN, restoreMs: performance.now() - t, children: null };
}

/**
 * The restore children a store starts (`store.restoreChildren()`, when it has them) and the peak RSS of each,
 * sampled from /proc every 100 ms: memory the restore needs while it runs, gone when the child exits.
 */
function watchChildren(store) {
  if (typeof store.restoreChildren !== 'function') return { stop: async () => null };
  let peak = 0;
  const sample = () => {
    for (const pid of store.restoreChildren().running) {
      try {
        const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
        peak = Math.max(peak, kb * 1024);
      } catch {
        // gone meanwhile
      }
    }
  };
  const timer = setInterval(sample, 100);
  return {
    async stop() {
      // Wait (bounded) for the children to exit: their partitions are handed back as each reaches its target.
      for (let k = 0; k < 300 && store.restoreChildren().running.length > 0; k++) {
        sample();
        await sleep(100);
      }
      clearInterval(timer);
      const { started, running } = store.restoreChildren();
      return { started, peakRss: started > 0 ? peak : Number.NaN, stillRunning: running.length };
    },
  };
}

async function child(c) {
  if (typeof globalThis.gc !== 'function') throw new Error('the child needs node --expose-gc');
  const kafka = kafkaClient(`amh-ledbench-${c.store}-${c.phase}`);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const codec = new AvroCodec(SchemaCatalog.load());
  const instanceId = `ledbench-${c.phase}-${process.pid}-${Date.now().toString(36)}`;
  await collect();
  const before = process.memoryUsage();
  const { store, startMs, restoreMs, children } = await openStore(c, { kafka, producer, codec, topic: c.topic, instanceId, logger: silentLogger() });
  await collect();
  const after = { ...process.memoryUsage(), ...rssParts() };
  // The baseline has no local store: n/a rather than 0 (its directory stays empty).
  const localBytes = typeof store.localBytes === 'function' ? store.localBytes() : c.store === 'baseline' ? Number.NaN : dirBytes(c.dir);
  const held = store.ledgers instanceof Map ? store.ledgers.size : typeof store.size === 'number' ? store.size : null;

  // Hot path: random slivers of the owned partitions, each a new event (so decide scans the entries).
  const owned = new Set(OWNED);
  const ids = [];
  while (ids.length < c.probes) {
    const id = sliverIdOf(Math.floor(Math.random() * c.n));
    if (owned.has(partitionOf(id))) ids.push(id);
  }
  const events = ids.map((sliver_id) => ({ event_id: randomUUID(), operation: 'MODIFY', sliver_id, sequence: 5, resource_type: 'VM' }));
  const times = new Float64Array(ids.length);
  const decisions = {};
  let missing = 0;
  const now = Date.now();
  for (let k = 0; k < ids.length; k++) {
    const t = process.hrtime.bigint();
    const ledger = store.get(ids[k]);
    const d = decide(ledger, events[k], instanceId, now);
    times[k] = Number(process.hrtime.bigint() - t) / 1e6;
    if (!ledger) missing++;
    decisions[d.kind] = (decisions[d.kind] ?? 0) + 1;
  }
  times.sort();
  await store.stop();
  await producer.disconnect();
  return {
    store: c.store,
    phase: c.phase,
    n: c.n,
    startMs,
    restoreMs,
    children,
    before: { rss: before.rss, heapUsed: before.heapUsed, external: before.external },
    after: { rss: after.rss, rssAnon: after.rssAnon, rssFile: after.rssFile, heapUsed: after.heapUsed, external: after.external, arrayBuffers: after.arrayBuffers },
    localBytes,
    held,
    probes: ids.length,
    missing,
    decisions,
    p50Ms: percentile(times, 50, { sorted: true }),
    p99Ms: percentile(times, 99, { sorted: true }),
    maxMs: times[times.length - 1],
  };
}

function runChild(c, timeoutS) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', SCRIPT, '--child', JSON.stringify(c)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutS * 1000);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1);
      if (code === 0 && line) resolve(JSON.parse(line));
      else reject(new Error(`${c.store} ${c.phase} child for N=${c.n} ended with ${signal ?? code}${signal === 'SIGKILL' ? ` (timeout ${timeoutS} s?)` : ''}`));
    });
  });
}

/** Cold (empty local directory), then warm (the same directory, nothing new on the topic). */
async function measure(store, filled, n, o) {
  const dir = mkdtempSync(join(tmpdir(), `amh-ledbench-${store}-`));
  try {
    const base = { store, topic: filled.topic, n, dir, probes: o.probes, module: resolve(o.partitionedModule), childMinRecords: o.childMinRecords };
    const cold = await runChild({ ...base, phase: 'cold' }, o.timeoutS);
    log(`N=${int(n)} ${store}: cold restore ${sec(cold.restoreMs)} s, RSS ${mib(cold.after.rss)} MiB (anon ${mib(cold.after.rssAnon)}, file ${mib(cold.after.rssFile)}), children ${JSON.stringify(cold.children)}, heap ${mib(cold.after.heapUsed)} MiB, p99 ${cold.p99Ms.toFixed(4)} ms`);
    const warm = await runChild({ ...base, phase: 'warm' }, o.timeoutS);
    log(`N=${int(n)} ${store}: warm restart ${sec(warm.restoreMs)} s, RSS ${mib(warm.after.rss)} MiB`);
    return { store, n, filled, cold, warm };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- parent: table

const ROWS = [
  ['records on the topic (12 partitions)', (r) => int(r.filled.records), null],
  ['fill time (s; measured when the topic was filled)', (r) => sec(r.filled.fillMs), null],
  ['topic bytes, est. (MiB) = records x avg key+value produced', (r) => mib(r.filled.records * r.filled.avgRecordBytes), (r) => r.filled.records * r.filled.avgRecordBytes],
  ['cold restore, no local store (s) [baseline: whole topic]', (r) => sec(r.cold.restoreMs), (r) => r.cold.restoreMs],
  ['warm restart, local store present (s) [baseline: none, whole topic again]', (r) => sec(r.warm.restoreMs), (r) => r.warm.restoreMs],
  ['ledgers held after restore', (r) => int(r.cold.held ?? Number.NaN), (r) => r.cold.held ?? Number.NaN],
  ['restore children started (cold) / their peak RSS (MiB), gone after the restore', (r) => (r.cold.children ? `${r.cold.children.started} / ${mib(r.cold.children.peakRss)}` : 'n/a'), null],
  ['RSS after restore + GC (MiB)', (r) => mib(r.cold.after.rss), (r) => r.cold.after.rss],
  ['  of which anonymous (RssAnon: heap, buffers, native allocations) (MiB)', (r) => mib(r.cold.after.rssAnon), (r) => r.cold.after.rssAnon],
  ['  of which file-backed (RssFile: mapped files, e.g. the LMDB map; reclaimable page cache) (MiB)', (r) => mib(r.cold.after.rssFile), (r) => r.cold.after.rssFile],
  ['heapUsed after restore + GC (MiB)', (r) => mib(r.cold.after.heapUsed), (r) => r.cold.after.heapUsed],
  ['external after restore + GC (MiB)', (r) => mib(r.cold.after.external), (r) => r.cold.after.external],
  ['RSS after warm restart + GC (MiB)', (r) => mib(r.warm.after.rss), (r) => r.warm.after.rss],
  ['local store on disk (MiB)', (r) => mib(r.cold.localBytes), (r) => r.cold.localBytes],
  ['decision p50, get + decide (µs)', (r) => (r.cold.p50Ms * 1000).toFixed(2), (r) => r.cold.p50Ms],
  ['decision p99 (µs)', (r) => (r.cold.p99Ms * 1000).toFixed(2), (r) => r.cold.p99Ms],
  ['decision max (µs)', (r) => (r.cold.maxMs * 1000).toFixed(1), (r) => r.cold.maxMs],
  ['hot-path probes (owned slivers) / without a ledger', (r) => `${int(r.cold.probes)} / ${int(r.cold.missing)}`, null],
];

function table(results, sizes, stores) {
  const byKey = new Map(results.map((r) => [`${r.store}/${r.n}`, r]));
  const [small, large] = [sizes[0], sizes.at(-1)];
  const columns = [];
  for (const store of stores) for (const n of sizes) columns.push({ head: `${store} N=${int(n)}`, cell: (row) => row[1](byKey.get(`${store}/${n}`)) });
  if (sizes.length > 1) {
    for (const store of stores) {
      columns.push({
        head: `${store} ${int(large)}/${int(small)}`,
        cell: (row) => (row[2] ? ratio(row[2](byKey.get(`${store}/${large}`)), row[2](byKey.get(`${store}/${small}`))) : ''),
      });
    }
  }
  if (stores.length === 2) {
    for (const n of sizes) {
      columns.push({
        head: `partitioned/baseline N=${int(n)}`,
        cell: (row) => (row[2] ? ratio(row[2](byKey.get(`partitioned/${n}`)), row[2](byKey.get(`baseline/${n}`))) : ''),
      });
    }
  }
  const lines = [`| | ${columns.map((c) => c.head).join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
  for (const row of ROWS) lines.push(`| ${row[0]} | ${columns.map((c) => c.cell(row)).join(' | ')} |`);
  return lines.join('\n');
}

function targets(results, sizes, stores) {
  const large = sizes.at(-1);
  const lines = [`Targets at N=${int(large)}:`];
  for (const store of stores) {
    const r = results.find((x) => x.store === store && x.n === large);
    if (!r) continue;
    const checks = [
      [`RSS < ${TARGETS.rssMiB} MiB`, `${mib(r.cold.after.rss)} MiB`, verdict(r.cold.after.rss / 1024 / 1024, TARGETS.rssMiB)],
      [`warm restart < ${TARGETS.warmS} s`, `${sec(r.warm.restoreMs)} s`, verdict(r.warm.restoreMs / 1000, TARGETS.warmS)],
      [`cold restore < ${TARGETS.coldS} s`, `${sec(r.cold.restoreMs)} s`, verdict(r.cold.restoreMs / 1000, TARGETS.coldS)],
      [`decision p99 < ${TARGETS.p99Ms} ms`, `${r.cold.p99Ms.toFixed(4)} ms`, verdict(r.cold.p99Ms, TARGETS.p99Ms)],
    ];
    lines.push(`- ${STORES[store]}: ${checks.map(([what, got, v]) => `${what}: ${got} ${v}`).join('; ')}`);
  }
  return lines.join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.child) {
    process.stdout.write(`${JSON.stringify(await child(o.child))}\n`);
    return;
  }
  const built = existsSync(o.partitionedModule);
  const stores = o.stores ?? (built ? ['baseline', 'partitioned'] : ['baseline']);
  if (stores.includes('partitioned') && !built) throw new Error(`${o.partitionedModule} does not exist (npm run build?)`);
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 1024 ** 3)} GB, Node ${process.version}, Kafka ${process.env.AMH_KAFKA_VERSION ?? '4.1.1'}`;
  log(`sizes ${o.sizes.map(int).join(', ')}; stores ${stores.join(', ')}${built ? '' : ' (partitioned-store.js not built: baseline only)'}; ${machine}; load ${loadavg()[0].toFixed(2)}`);
  const t = performance.now();
  const results = [];
  for (const n of o.sizes) {
    const filled = await ensureFilled(n, { kafka: kafkaClient(), refill: o.refill, resultsDir: RESULTS, log });
    for (const store of stores) results.push(await measure(store, filled, n, o));
  }
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'ledgers-latest.json'), JSON.stringify({ machine, date: new Date().toISOString(), sizes: o.sizes, stores, results }, null, 2));
  console.log(`\nLedgers, one instance owning partitions 0-3 of 12 (${new Date().toISOString().slice(0, 10)}; ${machine}; 1-min load ${loadavg()[0].toFixed(2)}; ${sec(performance.now() - t)} s in total)\n`);
  console.log(stores.map((s) => `- ${s}: ${STORES[s].replace(/^baseline: /, '')}`).join('\n'));
  console.log(`\n${table(results, o.sizes, stores)}\n`);
  console.log(targets(results, o.sizes, stores));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

/** Resident memory split as Linux reports it (bytes; 0 where /proc is missing). */
function rssParts() {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rssAnon: kb('RssAnon'), rssFile: kb('RssFile') + kb('RssShmem') };
  } catch {
    return { rssAnon: 0, rssFile: 0 };
  }
}
