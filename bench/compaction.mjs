#!/usr/bin/env node
// State topic bytes per closed sliver, after the ledger retention and compaction
// (issue 8: "state topic bytes per closed sliver zero after retention and compaction").
//
//   npm run bench:compaction                 # build, then 20,000 slivers (10 % closed)
//   node bench/compaction.mjs --slivers 5000 --timeout 300
//
// 1. A state topic of 12 partitions, created with the service's own topic
//    configuration (STATE_TOPIC_CONFIG: compacted, cleanable at a dirty ratio of
//    0.1) but with its clocks scaled from hours and days to seconds so the broker's
//    cleaner runs within the benchmark: segments roll after 1 s, tombstones are kept
//    1 s (the service: 1 h and 1 day). Filled with the ledger benchmark's realistic
//    ledgers (bench/ledgers-fill.mjs: 2-4 answers per sliver, every tenth closed,
//    closed long before the retention).
// 2. The service's own sweeper (LedgerSweeper over a PartitionedLedgerStore owning
//    every partition, retention 7 days) tombstones the expired ledgers.
// 3. Live traffic: every second, 300 open slivers get a new ledger version (their
//    latest one written again), which rolls segments and makes the log dirty enough
//    for the cleaner to pass again; Kafka removes a tombstone only in a pass after
//    its delete horizon (delete.retention.ms), so without traffic tombstones stay.
//    Meanwhile the whole topic is read back every few seconds: bytes (key + value)
//    per closed sliver and per open sliver, until nothing of a closed sliver is left
//    (or --timeout).

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { AvroCodec, SchemaCatalog, silentLogger } from '../dist/index.js';
import { STATE_TOPIC_CONFIG } from '../dist/service.js';
import { PartitionedLedgerStore } from '../dist/state/partitioned-store.js';
import { LedgerSweeper } from '../dist/state/sweeper.js';
import { PARTITIONS, plan, sliverIdOf, sliverRecords } from './ledgers-fill.mjs';
import { createTopicsReady } from './lib/topics.mjs';
import { benchBrokers } from './lib/brokers.mjs';

const USAGE = `usage: node bench/compaction.mjs [--slivers 20000] [--timeout 300]
env: AMH_KAFKA_BROKERS (default 127.0.0.1:9092)`;
const RETENTION_MS = 7 * 86_400_000;
/** The service's clocks, scaled to seconds; everything else as the service creates the topic. */
const SCALED = { 'segment.ms': '1000', 'delete.retention.ms': '1000', 'min.compaction.lag.ms': '0' };

function parseArgs(argv) {
  const o = { slivers: 20_000, timeoutS: 300 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const n = Number(String(value).replace(/_/g, ''));
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if ((flag === '--slivers' || flag === '--timeout') && Number.isInteger(n) && n > 0) {
      if (flag === '--slivers') o.slivers = n;
      else o.timeoutS = n;
      i++;
    } else {
      console.error(`${flag}: unknown option or bad value\n${USAGE}`);
      process.exit(2);
    }
  }
  return o;
}

const log = (msg) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const int = (n) => Math.round(n).toLocaleString('en-US');

/** Reads the whole topic: bytes and records of closed and open slivers' keys (tombstones included). */
async function census(kafka, topic, closedIds) {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const pending = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]));
  const c = { closedBytes: 0, closedRecords: 0, closedTombstones: 0, openBytes: 0, openRecords: 0, otherRecords: 0 };
  if (pending.size === 0) return c;
  const consumer = kafka.consumer({ groupId: `amh-compaction-census-${randomUUID()}`, maxBytes: 16 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let done;
  const finished = new Promise((r) => (done = r));
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const key = m.key?.toString('utf8') ?? '';
        const bytes = (m.key?.length ?? 0) + (m.value?.length ?? 0);
        if (closedIds.has(key)) {
          c.closedBytes += bytes;
          c.closedRecords++;
          if (!m.value) c.closedTombstones++;
        } else if (key.startsWith('ledbench-sliver-')) {
          c.openBytes += bytes;
          c.openRecords++;
        } else c.otherRecords++;
        const last = pending.get(batch.partition);
        if (last !== undefined && BigInt(m.offset) >= last) pending.delete(batch.partition);
      }
      if (pending.size === 0) done();
    },
  });
  await Promise.race([finished, sleep(120_000).then(() => Promise.reject(new Error(`census of ${topic}: partitions ${[...pending.keys()]} not read to their end in 120 s`)))]);
  await consumer.disconnect();
  return c;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const brokers = benchBrokers();
  const kafka = new Kafka({ clientId: 'amh-compaction-bench', brokers, logLevel: logLevel.NOTHING });
  const codec = new AvroCodec(SchemaCatalog.load());
  const topic = `amh-compaction-bench-${randomUUID().slice(0, 8)}`;
  const configEntries = STATE_TOPIC_CONFIG.map((e) => ({ name: e.name, value: SCALED[e.name] ?? e.value }));
  for (const [name, value] of Object.entries(SCALED)) if (!configEntries.some((e) => e.name === name)) configEntries.push({ name, value });
  await createTopicsReady(kafka, [{ topic, numPartitions: PARTITIONS, configEntries }]);
  log(`topic ${topic}: ${configEntries.map((e) => `${e.name}=${e.value}`).join(', ')}`);

  // 1. Fill.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const closedIds = new Set();
  /** The latest record of some open slivers, written again as live traffic in step 3. */
  const traffic = [];
  let batch = [];
  const t0 = Date.UTC(2026, 0, 1);
  for (const sliver of plan(o.slivers)) {
    const key = sliverIdOf(sliver.i);
    if (sliver.closed) closedIds.add(key);
    const values = sliverRecords(sliver, codec, t0);
    for (const value of values) batch.push({ key, value });
    if (!sliver.closed && traffic.length < 3000) traffic.push({ key, value: values.at(-1) });
    if (batch.length >= 2000) {
      await producer.send({ topic, acks: -1, messages: batch });
      batch = [];
    }
  }
  if (batch.length) await producer.send({ topic, acks: -1, messages: batch });
  const before = await census(kafka, topic, closedIds);
  log(`filled: ${int(o.slivers)} slivers, ${int(closedIds.size)} closed`);

  // 2. The service's sweeper, owning every partition.
  const dir = mkdtempSync(join(tmpdir(), 'amh-compaction-bench-'));
  const store = new PartitionedLedgerStore({ kafka, producer, codec, topic, instanceId: 'amh-compaction-bench', logger: silentLogger(), dir });
  const partitions = Array.from({ length: PARTITIONS }, (_, p) => p);
  await store.start();
  await store.assign(partitions);
  const sweeper = new LedgerSweeper({ store, partitions: () => partitions, retentionMs: RETENTION_MS, intervalMs: 3_600_000, logger: silentLogger() });
  const sweepStart = performance.now();
  const deleted = await sweeper.sweepOnce();
  const sweepMs = performance.now() - sweepStart;
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
  const swept = await census(kafka, topic, closedIds);
  log(`swept: ${int(deleted)} ledgers tombstoned in ${(sweepMs / 1000).toFixed(1)} s`);

  // 3. Live traffic rolls segments; the cleaner does the rest.
  let ticking = true;
  const ticker = (async () => {
    for (let i = 0; ticking; i += 300) {
      await producer.send({ topic, messages: Array.from({ length: 300 }, (_, j) => traffic[(i + j) % traffic.length]) });
      await sleep(1000);
    }
  })();
  const start = performance.now();
  let after = swept;
  while (after.closedRecords > 0 && performance.now() - start < o.timeoutS * 1000) {
    await sleep(5000);
    after = await census(kafka, topic, closedIds);
    log(`${((performance.now() - start) / 1000).toFixed(0)} s: ${int(after.closedRecords)} records (${int(after.closedTombstones)} tombstones) of closed slivers, ${int(after.closedBytes)} bytes`);
  }
  ticking = false;
  await ticker;
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();

  const closed = closedIds.size;
  const open = o.slivers - closed;
  const row = (what, c) => `| ${what} | ${(c.closedBytes / closed).toFixed(1)} | ${int(c.closedRecords)} | ${(c.openBytes / open).toFixed(1)} | ${int(c.openRecords)} |`;
  console.log(`\n${int(o.slivers)} slivers on ${PARTITIONS} partitions, ${int(closed)} closed; sweeper retention 7 d; cleaner clocks scaled to seconds\n`);
  console.log('| state topic | bytes per closed sliver | records of closed slivers | bytes per open sliver | records of open slivers |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(row('as written', before));
  console.log(row('after the sweep (tombstones written)', swept));
  console.log(row(`after compaction (${((performance.now() - start) / 1000).toFixed(0)} s of cleaner)`, after));
  const zero = after.closedRecords === 0;
  console.log(`\nbytes per closed sliver after retention and compaction: ${(after.closedBytes / closed).toFixed(1)} (target 0): ${zero ? 'PASS' : 'FAIL'}`);
  process.exit(zero ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
