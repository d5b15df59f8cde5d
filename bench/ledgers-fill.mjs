// The state topic of the ledger benchmark (bench/ledgers.mjs): N slivers of
// realistic ledgers on a compacted 12-partition topic, built with the package's
// own ledger functions and codec, filled once and reused by later runs (the
// topic name carries N, the fill's version and the state schema's fingerprint).

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners } from 'kafkajs';
import { AvroCodec, SchemaCatalog, fingerprintHex } from '../dist/index.js';
import { buildResult } from '../dist/results/builder.js';
import { claim, emptyLedger, recordAnswer } from '../dist/state/ledger.js';
import { mib, seededRandom } from './stats.mjs';

export const PARTITIONS = 12;
/** Bump when the fill's shape changes, so cached topics of the old shape are not reused. */
const FILL_VERSION = 'v1';
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const sec = (ms) => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : 'n/a');

// ---------------------------------------------------------------- the fill's shape (deterministic)

export const sliverIdOf = (i) => `ledbench-sliver-${i}`;

/** For sliver i: answered 2-4 times (uniform), and every tenth sliver closed (its last answer a CLOSE). */
export function* plan(N) {
  const random = seededRandom(N); // the same N always gives the same mix
  for (let i = 0; i < N; i++) yield { i, answers: 2 + Math.floor(random() * 3), closed: i % 10 === 0 };
}

function expectedRecords(N) {
  let records = 0;
  for (const s of plan(N)) records += s.answers;
  return records;
}

const WRITERS = ['amh-a', 'amh-b', 'amh-c'];
const HOST_STATS = [{ host: 'sim-worker-1', ok: 14, changed: 3, failures: 0, unreachable: 0, skipped: 2, rescued: 0, ignored: 0 }];

/**
 * The encoded records of one sliver, oldest first: each answer is a claim (new
 * epoch, lease) then `recordAnswer` with the encoded reply, as the service
 * writes them; only the answered versions go on the topic.
 */
export function sliverRecords({ i, answers, closed }, codec, t0) {
  const sliverId = sliverIdOf(i);
  const writer = WRITERS[i % WRITERS.length];
  let ledger = emptyLedger(sliverId);
  const values = [];
  for (let seq = 1; seq <= answers; seq++) {
    const operation = seq === 1 ? 'REDEEM' : closed && seq === answers ? 'CLOSE' : seq % 2 ? 'PROBE' : 'MODIFY';
    const startedAt = t0 + i + seq * 3_600_000;
    const finishedAt = startedAt + 20_000 + (i % 40_000);
    const event = { event_id: randomUUID(), operation, sliver_id: sliverId, slice_id: `ledbench-slice-${i >> 3}`, resource_type: 'VM', sequence: seq, timestamp: startedAt, trace_id: null };
    ledger = claim(ledger, event, writer, startedAt, 30_000);
    const reply = codec.encode(
      'result',
      buildResult(event, {
        outcome: 'OK',
        message: `${operation} completed`,
        sliver:
          operation === 'CLOSE'
            ? { observed: 'MISSING', worker: 'sim-worker-1' }
            : { observed: 'EXISTS', instance_name: `instance-${i.toString(16).padStart(8, '0')}`, management_ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, worker: 'sim-worker-1' },
        hostStats: HOST_STATS,
        startedAt,
        finishedAt,
        handler: 'vm',
      }),
    );
    ledger = recordAnswer(ledger, event, { outcome: 'OK', reply, ran: true }, writer, finishedAt, { entries: 64, replies: 4 });
    values.push(codec.encode('state', ledger));
  }
  return values;
}

// ---------------------------------------------------------------- fill (cached by topic name)

function topicFor(N) {
  const print = fingerprintHex(SchemaCatalog.load().current('state').fingerprint);
  return `amh-ledbench-${FILL_VERSION}-n${N}-${print.replace(/[^0-9a-f]/gi, '').slice(0, 16)}`;
}


/**
 * The state topic for N slivers: reused when it exists with every record on it
 * (the sum of the partitions' end offsets equals the plan's record count: compaction
 * removes records but never moves an end offset), filled otherwise.
 */
export async function ensureFilled(N, { kafka, refill, resultsDir, log }) {
  const codec = new AvroCodec(SchemaCatalog.load());
  const topic = topicFor(N);
  const metaFile = `${resultsDir}/${topic}.json`;
  const records = expectedRecords(N);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const exists = (await admin.listTopics()).includes(topic);
    if (exists && !refill) {
      const ends = await admin.fetchTopicOffsets(topic);
      const onTopic = ends.reduce((sum, p) => sum + Number(p.high), 0);
      const meta = existsSync(metaFile) ? JSON.parse(readFileSync(metaFile, 'utf8')) : null;
      if (onTopic === records && ends.length === PARTITIONS) {
        log(`N=${int(N)}: ${topic} is complete (${int(onTopic)} records), fill skipped`);
        return { topic, records, cached: true, fillMs: meta?.fillMs ?? Number.NaN, avgRecordBytes: meta?.avgRecordBytes ?? Number.NaN };
      }
      log(`N=${int(N)}: ${topic} holds ${int(onTopic)} of ${int(records)} records: filling it again`);
    }
    if (exists) {
      await admin.deleteTopics({ topics: [topic] });
      await waitFor(`${topic} deleted`, 60_000, async () => !(await admin.listTopics()).includes(topic));
    }
    await waitFor(`${topic} created`, 60_000, async () => {
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
        });
        return true;
      } catch (err) {
        if (err.type === 'TOPIC_ALREADY_EXISTS' || /marked for deletion/i.test(err.message)) return false; // the delete is still under way
        throw err;
      }
    });
  } finally {
    await admin.disconnect();
  }
  const filled = await fill(kafka, topic, N, codec, log);
  if (filled.records !== records) throw new Error(`fill of ${topic}: produced ${filled.records} records, the plan says ${records}`);
  const avgRecordBytes = filled.bytes / filled.records;
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(metaFile, JSON.stringify({ topic, n: N, records, fillMs: filled.ms, avgRecordBytes, date: new Date().toISOString() }, null, 2));
  log(`N=${int(N)}: filled ${topic}: ${int(records)} records, ${mib(filled.bytes)} MiB of keys+values, in ${sec(filled.ms)} s`);
  return { topic, records, cached: false, fillMs: filled.ms, avgRecordBytes };
}

/** Produce every sliver's records (a sliver's versions in one send, so in order), 1000 per send, 4 sends in flight, acks=-1. */
async function fill(kafka, topic, N, codec, log) {
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const inFlight = new Set();
  let failure = null;
  const send = (messages) => {
    const p = producer
      .send({ topic, acks: -1, messages })
      .catch((err) => (failure ??= err))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const t0 = Date.UTC(2026, 0, 1);
  const start = performance.now();
  let records = 0;
  let bytes = 0;
  let batch = [];
  let lastLog = start;
  try {
    for (const sliver of plan(N)) {
      const key = sliverIdOf(sliver.i);
      for (const value of sliverRecords(sliver, codec, t0)) {
        batch.push({ key, value });
        bytes += Buffer.byteLength(key) + value.length;
        records++;
      }
      if (batch.length >= 1000) {
        send(batch);
        batch = [];
        while (inFlight.size >= 4) await Promise.race(inFlight);
        if (failure) throw failure;
      }
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(`N=${int(N)}: fill at ${int(sliver.i)} slivers, ${int(records)} records, ${sec(lastLog - start)} s`);
      }
    }
    if (batch.length) send(batch);
    await Promise.all(inFlight);
    if (failure) throw failure;
  } finally {
    await producer.disconnect();
  }
  return { records, bytes, ms: performance.now() - start };
}

async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(250);
  }
}

