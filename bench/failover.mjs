#!/usr/bin/env node
// Failover benchmark: how long the events of a killed instance's partitions
// wait before the surviving instance answers them.
//
//   npm run bench:failover                 # build, then 3 repetitions with default settings
//   node bench/failover.mjs --reps 5       # needs a build (npm run build)
//
// Each repetition: fresh 6-partition topics; two `amh run` processes (the test
// runner test/fixtures/plugins/run-service.mjs: the built package plus the Slow
// test plugin) share one group with the config defaults (session timeout
// etc.); one event per partition checks both answer; then SIGKILL one, and at
// once send a new event to each partition it owned. Measured from the kill:
// the group's rebalance (the dead member gone, the group Stable), the first
// result of those new events and the last. See bench/README.md.

import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { AssignerProtocol, Kafka, Partitioners, logLevel } from 'kafkajs';
import { stringify } from 'yaml';
import { AvroCodec, SchemaCatalog } from '../dist/index.js';
import { summarize } from './stats.mjs';
import { createTopicsReady } from './lib/topics.mjs';
import { benchBrokers } from './lib/brokers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..');
const RUN_SERVICE = join(REPO, 'test/fixtures/plugins/run-service.mjs');
const PARTITIONS = 6;

const USAGE = `usage: node bench/failover.mjs [--reps 3] [--delay 0] [--timeout 180]
  --reps N       repetitions (default 3)
  --delay S      seconds each Slow playbook sleeps (default 0: only ansible-playbook's own cost)
  --timeout S    give up on one repetition after this many seconds from the kill (default 180)
env: AMH_KAFKA_BROKERS (default 127.0.0.1:9092), AMH_BENCH_LOG=1 (children's logs on stderr)`;

function parseArgs(argv) {
  const o = { reps: 3, delay: 0, timeoutS: 180 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${arg}: expected a number, got ${argv[i]}\n${USAGE}`);
      return v;
    };
    if (arg === '--reps') o.reps = Math.max(1, Math.floor(next()));
    else if (arg === '--delay') o.delay = next();
    else if (arg === '--timeout') o.timeoutS = next();
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  return o;
}

const log = (line) => console.error(`[failover] ${line}`);
const brokers = () => benchBrokers();
const kafka = new Kafka({ clientId: 'amh-bench-failover', brokers: brokers(), logLevel: logLevel.NOTHING });
const codec = new AvroCodec(SchemaCatalog.load());
const partitionOf = (() => {
  // The producer's own partitioner, so each new event lands where its key belongs (the ledger topic is co-partitioned).
  const partitioner = Partitioners.DefaultPartitioner();
  const metadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({ partitionId, leader: 1 }));
  return (key) => partitioner({ topic: 't', partitionMetadata: metadata, message: { key } });
})();

/** A sliver id (the message key) that the default partitioner puts on `partition`. */
function sliverOn(partition, prefix) {
  for (;;) {
    const id = `${prefix}-${randomBytes(4).toString('hex')}`;
    if (partitionOf(id) === partition) return id;
  }
}

function slowEvent(sliverId, delay) {
  return {
    event_id: randomUUID(),
    operation: 'REDEEM',
    sliver_id: sliverId,
    slice_id: 'bench-failover',
    resource_type: 'Slow',
    sequence: 1,
    timestamp: Date.now(),
    node_sliver: { name: 'item', labels: { delay: String(delay) } },
  };
}

/** An `amh run` (with the Slow plugin) in its own process; its JSON log lines are kept. */
function startAmh(configFile, name) {
  const child = spawn(process.execPath, [RUN_SERVICE, configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr.on('data', (chunk) => {
    text += chunk.toString();
    if (process.env.AMH_BENCH_LOG) process.stderr.write(`[${name}] ${chunk}`);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return {
    child,
    name,
    exited,
    log: () => text,
    async waitForLog(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!text.includes(pattern)) {
        if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}) before logging ${pattern}:\n${text.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`${name}: no ${pattern} within ${timeoutMs} ms:\n${text.slice(-2000)}`);
        await sleep(100);
      }
    },
  };
}

/** The group's members as `{ pid, partitions }` (the instance id in each client id carries the pid), and its state. */
async function describeGroup(admin, groupId, topic) {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0];
  const members = (group?.members ?? []).map((m) => {
    const instance = m.clientId.split('/').at(-1) ?? '';
    const pid = Number(instance.split('-').at(-2));
    const decoded = m.memberAssignment?.length ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
    return { pid, partitions: [...(decoded?.assignment?.[topic] ?? [])].sort((a, b) => a - b) };
  });
  return { state: group?.state, members };
}

async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Reads the reply topic from the beginning; resolves `times(ids)` with each id's first reply (record timestamp). */
async function replyReader(topic) {
  const consumer = kafka.consumer({ groupId: `amh-bench-failover-replies-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
  const firstAt = new Map();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const { value } = await codec.decode('result', message.value);
      if (!firstAt.has(value.event_id)) firstAt.set(value.event_id, { at: Number(message.timestamp), outcome: value.outcome });
    },
  });
  return {
    async times(ids, timeoutMs) {
      return waitFor(`results for ${ids.length} event(s)`, timeoutMs, () => (ids.every((id) => firstAt.has(id)) ? ids.map((id) => firstAt.get(id)) : null));
    },
    stop: () => consumer.disconnect(),
  };
}

async function repetition(rep, o) {
  const tag = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const topics = {
    events: `amh-failover-${tag}.events`,
    replies: `amh-failover-${tag}.replies`,
    dead_letter: `amh-failover-${tag}.dlq`,
    state: `amh-failover-${tag}.state`,
  };
  const groupId = `amh-failover-${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'amh-failover-'));
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const processes = [];
  let replies = null;
  await admin.connect();
  await producer.connect();
  try {
    await createTopicsReady(kafka, [
      ...[topics.events, topics.replies, topics.dead_letter].map((topic) => ({ topic, numPartitions: PARTITIONS })),
      { topic: topics.state, numPartitions: PARTITIONS, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ]);
    // Defaults everywhere except what a benchmark must pin: its own topics and group, and where files go.
    const configFile = join(dir, 'amh.yaml');
    writeFileSync(
      configFile,
      stringify({
        kafka: { brokers: brokers(), group_id: groupId, topics, create_topics: false },
        runtime: { work_dir: join(dir, 'runs') },
        logging: { level: 'info' },
        http: { port: 0 }, // two instances on one host
        handlers: { slow: { plugin: 'slow', state_dir: join(dir, 'slow'), delay: o.delay } },
      }),
    );
    const send = (events) =>
      producer.send({ topic: topics.events, acks: -1, messages: events.map((e) => ({ key: e.sliver_id, value: codec.encode('event', e) })) });
    replies = await replyReader(topics.replies);

    const a = startAmh(configFile, 'a');
    const b = startAmh(configFile, 'b');
    processes.push(a, b);
    await Promise.all([a.waitForLog('"msg":"consuming"'), b.waitForLog('"msg":"consuming"')]);
    const pids = new Set([a.child.pid, b.child.pid]);
    const settled = await waitFor('both instances in a Stable group owning all partitions', 90_000, async () => {
      const g = await describeGroup(admin, groupId, topics.events);
      const owned = g.members.flatMap((m) => m.partitions);
      const ok = g.state === 'Stable' && g.members.length === 2 && g.members.every((m) => pids.has(m.pid) && m.partitions.length > 0) && owned.length === PARTITIONS;
      return ok ? g : null;
    });

    // Warm-up: one event per partition, both instances answer (also the playbook latency without failover).
    const warm = Array.from({ length: PARTITIONS }, (_, p) => slowEvent(sliverOn(p, `warm-${rep}`), o.delay));
    const warmSent = Date.now();
    await send(warm);
    const warmTimes = await replies.times(warm.map((e) => e.event_id), 120_000);
    const warmLatency = Math.max(...warmTimes.map((t) => t.at)) - warmSent;

    // The victim and its partitions, as the group had them just before the kill.
    const before = await describeGroup(admin, groupId, topics.events);
    const victim = before.members.find((m) => m.pid === a.child.pid);
    if (!victim?.partitions.length) throw new Error(`instance a owns no partition: ${JSON.stringify(before)}`);
    const events = victim.partitions.map((p) => slowEvent(sliverOn(p, `new-${rep}`), o.delay));

    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await send(events);
    const sentMs = Date.now() - killedAt;
    // When the broker noticed: the dead member gone and the group Stable again (polled every 200 ms).
    const rebalanced = waitFor('the rebalance after the kill', o.timeoutS * 1000, async () => {
      const g = await describeGroup(admin, groupId, topics.events);
      return g.state === 'Stable' && g.members.length === 1 && g.members[0].pid === b.child.pid ? Date.now() : null;
    });
    const times = await replies.times(events.map((e) => e.event_id), o.timeoutS * 1000);
    const rebalancedAt = await rebalanced;
    const run = {
      rep,
      victimPartitions: victim.partitions,
      sentMs,
      rebalanceMs: rebalancedAt - killedAt,
      firstResultMs: Math.min(...times.map((t) => t.at)) - killedAt,
      lastResultMs: Math.max(...times.map((t) => t.at)) - killedAt,
      outcomes: times.map((t) => t.outcome),
      warmLatencyMs: warmLatency,
      settledMembers: settled.members.length,
    };
    log(
      `rep ${rep}: killed a (partitions ${run.victimPartitions.join(',')}); group rebalanced after ${(run.rebalanceMs / 1000).toFixed(1)} s; ` +
        `first result ${(run.firstResultMs / 1000).toFixed(1)} s, last ${(run.lastResultMs / 1000).toFixed(1)} s (${run.outcomes.join(',')}); ` +
        `warm-up latency ${(warmLatency / 1000).toFixed(1)} s`,
    );
    return run;
  } finally {
    await replies?.stop().catch(() => {});
    for (const p of processes) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      await Promise.race([p.exited, sleep(40_000).then(() => p.child.kill('SIGKILL'))]);
    }
    await producer.disconnect().catch(() => {});
    await admin.deleteTopics({ topics: Object.values(topics) }).catch((err) => log(`could not delete topics: ${err.message}`));
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

const s = (ms) => (ms / 1000).toFixed(1);

function table(runs) {
  const rows = [
    ['kill -> group rebalanced (dead member gone)', runs.map((r) => r.rebalanceMs)],
    ['kill -> first result of the new events', runs.map((r) => r.firstResultMs)],
    ['kill -> last result of the new events', runs.map((r) => r.lastResultMs)],
    ['(no failover) send -> last of 6 results, warm-up', runs.map((r) => r.warmLatencyMs)],
  ];
  const lines = ['| seconds | min | median | max |', '|---|---:|---:|---:|'];
  for (const [label, values] of rows) {
    const { min, median, max } = summarize(values);
    lines.push(`| ${label} | ${s(min)} | ${s(median)} | ${s(max)} |`);
  }
  return lines.join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 1024 ** 3)} GB, Node ${process.version}`;
  log(`${o.reps} repetition(s), ${PARTITIONS} partitions, Slow delay ${o.delay} s, brokers ${brokers().join(',')}; ${machine}; load ${loadavg()[0].toFixed(2)}`);
  const runs = [];
  for (let rep = 1; rep <= o.reps; rep++) runs.push(await repetition(rep, o));
  console.log(`\nFailover with default settings, ${o.reps} repetition(s) (${new Date().toISOString().slice(0, 10)}; ${machine}; 1-min load ${loadavg()[0].toFixed(2)})\n`);
  console.log(table(runs));
  console.log(`\nper repetition: ${runs.map((r) => `${r.rep}: killed partitions ${r.victimPartitions.join(',')}, first ${s(r.firstResultMs)} s`).join('; ')}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
