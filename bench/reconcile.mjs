#!/usr/bin/env node
// Reconciliation benchmark (issue 10): the latency of events under a steady stream, with drift detection on (a short
// interval, so probes really run beside the events) and off, in one invocation, side by side.
//
//   npm run bench:reconcile                     # build, then 3 repetitions of each mode
//   node bench/reconcile.mjs --reps 1 --events 20   # needs a build (npm run build)
//
// Each run: fresh topics, a fresh sim substrate and a real Service from the built package with the VM handler on the
// sim playbooks and real ansible-playbook. It creates --slivers VMs (not measured), then sends --events POA
// cpuinfo events (one vm_poa.yml run each) round-robin over half of those VMs (the other half idle), one every --gap ms, and measures each event
// from its send to its reply being published. With reconciliation on, every VM is probed (one vm_probe.yml run)
// once per --interval. A warm-up run of each mode comes first (--warmup 0: none), not counted; then the modes alternate
// (off then on, then on then off). See bench/README.md.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { stringify } from 'yaml';
import { AvroCodec, SchemaCatalog, Service, createLogger, loadConfig, silentLogger } from '../dist/index.js';
import { bootstrapRatio, percentile, summarize } from './stats.mjs';
import { benchBrokers } from './lib/brokers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..');

const USAGE = `usage: node bench/reconcile.mjs [--reps 3] [--slivers 8] [--events 40] [--gap 500] [--interval 4s] [--concurrency 4] [--share 0.25] [--warmup 1]
env: AMH_KAFKA_BROKERS (default 127.0.0.1:9092), AMH_BENCH_LOG=info (service log on stderr)`;

function parseArgs(argv) {
  const o = { reps: 3, slivers: 8, events: 40, gap: 500, interval: '4s', concurrency: 4, share: 0.25, warmup: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[++i];
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const key = arg?.replace(/^--/, '');
    if (!key || !(key in o) || value === undefined) throw new Error(`unknown option ${arg}\n${USAGE}`);
    o[key] = key === 'interval' ? value : Number(value);
    if (key !== 'interval' && !(o[key] > 0 || (key === 'warmup' && o[key] === 0))) throw new Error(`${arg}: expected a positive number, got ${value}`);
  }
  return o;
}

const log = (line) => console.error(`[reconcile] ${line}`);
const brokers = benchBrokers();
const kafka = new Kafka({ clientId: 'amh-bench-reconcile', brokers, logLevel: logLevel.NOTHING });
const codec = new AvroCodec(SchemaCatalog.load());

function vmEvent(sliverId, extra = {}) {
  return {
    event_id: randomUUID(),
    operation: 'REDEEM',
    sliver_id: sliverId,
    slice_id: 'bench',
    resource_type: 'VM',
    sequence: 1,
    timestamp: Date.now(),
    node_sliver: { name: 'node1', site: 'SIM1', worker: 'sim-worker-1', capacities: { core: 1, ram: 1, disk: 1 }, image: 'default_rocky_9' },
    slice: { user_ssh_keys: [] },
    ...extra,
  };
}

const poaEvent = (sliverId, sequence) =>
  vmEvent(sliverId, { operation: 'POA', sequence, poa: { poa_id: `poa-${sequence}`, operation: 'cpuinfo', args: {} } });

async function run(mode, o) {
  const dir = mkdtempSync(join(tmpdir(), `amh-bench-reconcile-${mode}-`));
  const id = `${mode}-${randomUUID().slice(0, 8)}`;
  const topics = { events: `bench-rec-events-${id}`, replies: `bench-rec-replies-${id}`, dead_letter: `bench-rec-dlq-${id}`, state: `bench-rec-state-${id}`, drift: `bench-rec-drift-${id}` };
  const file = join(dir, 'amh.yaml');
  writeFileSync(
    file,
    stringify({
      kafka: { brokers, group_id: `bench-rec-${id}`, topics, partitions: 3, create_topics: true },
      consumer: { concurrency: o.concurrency },
      runtime: { work_dir: join(dir, 'runs'), ledger_dir: join(dir, 'ledgers') },
      http: { enabled: false },
      logging: { level: process.env.AMH_BENCH_LOG ?? 'silent' },
      reconcile: { enabled: mode === 'on', interval: o.interval, share: o.share },
      handlers: { vm: { plugin: 'vm', playbooks: { location: join(REPO, 'playbooks/sim') }, substrate: { state_dir: join(dir, 'sim') }, runtime: { ssh_retries: 1, retry_delay: '0s' } } },
    }),
  );
  const config = loadConfig({ path: file, env: {} });
  const logger = process.env.AMH_BENCH_LOG ? createLogger({ level: process.env.AMH_BENCH_LOG, destination: 2 }) : silentLogger();
  const service = new Service({ config, logger });
  const answered = new Map();
  const outcomes = new Map();
  const probes = {};
  service.events.on('result', ({ result }) => {
    answered.set(result.event_id, Date.now());
    outcomes.set(result.event_id, `${result.outcome}: ${result.message}`);
  });
  service.events.on('probed', ({ outcome }) => (probes[outcome] = (probes[outcome] ?? 0) + 1));
  const producer = kafka.producer();
  await service.start();
  await producer.connect();
  const send = (events) => producer.send({ topic: topics.events, acks: -1, messages: events.map((e) => ({ key: e.sliver_id, value: codec.encode('event', e) })) });
  const until = async (ids, what) => {
    const deadline = Date.now() + 600_000;
    while (!ids.every((i) => answered.has(i))) {
      if (Date.now() > deadline) throw new Error(`${mode}: ${what} not all answered in 10 min`);
      await sleep(100);
    }
    const failed = ids.map((i) => outcomes.get(i)).filter((o) => !o.startsWith('OK'));
    if (failed.length > 0) throw new Error(`${mode}: ${failed.length} of ${what} not OK, e.g. ${failed[0]}`);
  };
  try {
    const slivers = Array.from({ length: o.slivers }, (_, i) => `bench-${id}-${i}`);
    const creates = slivers.map((s) => vmEvent(s));
    await send(creates);
    await until(creates.map((e) => e.event_id), 'creates');
    Object.keys(probes).forEach((k) => delete probes[k]); // count the probes of the measured stream only
    const sent = new Map();
    const stream = [];
    // The events go to half of the VMs; the other half sit idle, so the probes (which never touch a busy sliver) run.
    const targets = slivers.slice(0, Math.ceil(slivers.length / 2));
    for (let i = 0; i < o.events; i++) {
      const event = poaEvent(targets[i % targets.length], 2 + Math.floor(i / targets.length));
      sent.set(event.event_id, Date.now());
      stream.push(event.event_id);
      await send([event]);
      await sleep(o.gap);
    }
    await until(stream, 'the stream');
    const latencies = stream.map((e) => answered.get(e) - sent.get(e)).sort((a, b) => a - b);
    return { mode, latencies, p50: percentile(latencies, 50, { sorted: true }), p99: percentile(latencies, 99, { sorted: true }), max: latencies.at(-1), probes: { ...probes } };
  } finally {
    await producer.disconnect();
    await service.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

const o = parseArgs(process.argv.slice(2));
log(`${o.reps} repetition(s) x {off, on}: ${o.slivers} VMs, ${o.events} POA events one every ${o.gap} ms, interval ${o.interval}, concurrency ${o.concurrency}, share ${o.share}; ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}`);
const runs = [];
// One run of each mode first, not counted: the first run of a process pays for cold caches (JIT, the broker's new
// topics, ansible's imports), which would land on whichever mode came first.
if (o.warmup > 0) {
  for (const mode of ['off', 'on']) {
    const r = await run(mode, { ...o, events: Math.min(o.events, 10) });
    log(`warm-up ${mode} (not counted): p50 ${r.p50} ms, p99 ${r.p99} ms`);
  }
}
for (let rep = 1; rep <= o.reps; rep++) {
  // The order alternates (off first, then on first), so neither mode always follows the other's leftovers.
  for (const mode of rep % 2 === 1 ? ['off', 'on'] : ['on', 'off']) {
    const r = await run(mode, o);
    log(`rep ${rep} ${mode}: p50 ${r.p50} ms, p99 ${r.p99} ms, probes ${JSON.stringify(r.probes)}`);
    runs.push(r);
  }
}
const of = (mode, key) => summarize(runs.filter((r) => r.mode === mode).map((r) => r[key]));
const cell = (s) => `${s.min} / ${s.median} / ${s.max}`;
console.log(`\n| event latency (ms), min / median / max of ${o.reps} | reconciliation off | reconciliation on (interval ${o.interval}) | median on/off |`);
console.log('|---|---|---|---|');
for (const key of ['p50', 'p99']) {
  const off = of('off', key);
  const on = of('on', key);
  console.log(`| ${key} | ${cell(off)} | ${cell(on)} | ${(on.median / off.median).toFixed(3)} |`);
}
// Every event of every repetition pooled per mode: the run-to-run noise (the machine's other load) is larger than
// the effect measured, so the comparison is of all events, with a bootstrap 95 % interval of the ratio.
const pooled = (mode) => runs.filter((r) => r.mode === mode).flatMap((r) => r.latencies);
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const p90 = (values) => percentile(values, 90);
console.log(`\n| all events pooled (${pooled('off').length} off, ${pooled('on').length} on) | on/off | 95 % interval (bootstrap) |`);
console.log('|---|---|---|');
for (const [name, stat] of [['median', undefined], ['mean', mean], ['p90', p90]]) {
  const r = bootstrapRatio(pooled('on'), pooled('off'), stat ? { stat } : {});
  console.log(`| ${name} latency | ${r.ratio.toFixed(3)} | ${r.lo.toFixed(3)} - ${r.hi.toFixed(3)} |`);
}
const pairs = [];
for (let i = 0; i + 1 < runs.length; i += 2) {
  const [on, off] = runs[i].mode === 'on' ? [runs[i], runs[i + 1]] : [runs[i + 1], runs[i]];
  pairs.push((on.p50 / off.p50).toFixed(3));
}
console.log(`\np50 on/off per repetition (each pair run back to back): ${pairs.join(', ')}`);
const probeTotals = runs.filter((r) => r.mode === 'on').map((r) => r.probes);
console.log(`\nprobes per run with reconciliation on (by outcome): ${probeTotals.map((p) => JSON.stringify(p)).join(', ')}`);
