// Pipeline rows of `npm run bench` (issue 11, item 2 and the replay row).
//
//   pipeline-throughput: events/s through the real Service (dist/) with a no-op fake runner, against a
//     minimal kafkajs relay reading the same backlog (eachMessage: one acknowledged produce per event;
//     eachBatch: one produce per fetched batch; both commit with kafkajs' own autoCommit, after each fetched
//     batch). Target: amh >= 0.5 of the eachMessage relay. The relays run stock kafkajs: the service's patches of
//     it (the `kafkajsPatches` of src/kafka/client.ts), which are process-wide once the build is imported,
//     are taken out while they run; `relay-eachMessage-fast` is the same relay with them (no target: what the ratio
//     would be if the baseline had them too). Also CPU microseconds of this process per event
//     (cpu_us_per_event, from the first event taken in to the last answered): steadier than events/s when the
//     machine is shared, since a CPU-bound service loses more to other load than a latency-bound relay.
//   replay-10k: 10k events already answered, read again from offset 0 by a fresh consumer group through
//     the Service: events/s, and playbook runs (must be 0: every answer comes from the ledger).
//
//   write-batch-transaction: one batch of 10 answered events written as the service does (ledger answers, then
//     replies, then the offset commit: two acknowledged requests and a commit) vs one Kafka transaction
//     (answers + replies + sendOffsets, commit): ms per batch (README "Batched writes").
//
// Tuning and diagnosis: AMH_BENCH_PIPELINE_KAFKA='{"write_batch":{"linger":"2ms"}}' adds kafka.* settings to the
// measured service; AMH_BENCH_DEBUG=1 logs the backpressure pauses, the write batcher's request counts and the
// event loop utilisation.
//
// Every variant reads one backlog prepared in setup (fresh topics per row), each repetition with its own
// group id and reply topic, so the variants do exactly the same work. The relays decode nothing: they are
// the floor of "consume, produce, commit" with kafkajs on this machine.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { stringify } from 'yaml';
import { vmRedeem } from '../lib/events.mjs';
import { fakeRunner } from '../lib/fake-runner.mjs';
import { createTopicsReady } from '../lib/topics.mjs';

const PARTITIONS = 3;

/** Extra `kafka.*` settings of the measured service, for tuning runs: AMH_BENCH_PIPELINE_KAFKA='{"write_batch":{"linger":"2ms"}}'. */
function tuning() {
  const raw = process.env.AMH_BENCH_PIPELINE_KAFKA;
  return raw ? JSON.parse(raw) : {};
}

/** @param {string} repo */
async function dist(repo) {
  return import(join(repo, 'dist', 'index.js'));
}

const kafkaOf = (brokers) => new Kafka({ clientId: 'amh-bench-pipeline', brokers, logLevel: logLevel.NOTHING });

async function createTopics(brokers, topics, compacted = []) {
  await createTopicsReady(
    kafkaOf(brokers),
    topics.map((topic) => ({
      topic,
      numPartitions: PARTITIONS,
      ...(compacted.includes(topic) ? { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : {}),
    })),
  );
}

async function deleteTopics(brokers, topics, log) {
  if (topics.length === 0) return;
  const admin = kafkaOf(brokers).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics });
  } catch (err) {
    log(`could not delete ${topics.join(', ')}: ${err.message}`);
  } finally {
    await admin.disconnect();
  }
}

/** N VM redeems of N distinct slivers (as bench/run.mjs builds them). */
async function produceBacklog(api, brokers, topic, n, tag) {
  const codec = new api.AvroCodec(api.SchemaCatalog.load());
  const producer = kafkaOf(brokers).producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let from = 0; from < n; from += 1000) {
      const messages = [];
      for (let i = from; i < Math.min(n, from + 1000); i++) {
        const sliverId = `bench-${tag}-${i}`;
        messages.push({ key: sliverId, value: codec.encode('event', vmRedeem(sliverId)) });
      }
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}


/**
 * The Service reading `topics.events` with `groupId` until `n` results are out: events/s from the first
 * event taken in to the n-th result, and the fake runner's calls.
 */
async function serviceDrain(api, ctx, { topics, groupId, n, instance, extra = {} }) {
  const dir = join(ctx.tmp, instance);
  mkdirSync(dir, { recursive: true });
  const yaml = {
    kafka: { brokers: ctx.brokers, client_id: 'amh-bench', group_id: groupId, topics, create_topics: false, partitions: PARTITIONS, session_timeout: '10s', ...(extra.kafka ?? {}) },
    consumer: { concurrency: 10, max_queued: 1000 },
    runtime: { work_dir: join(dir, 'runs'), ledger_dir: join(ctx.tmp, 'ledgers') },
    logging: { level: 'silent' },
    http: { enabled: false },
    reconcile: { enabled: false },
    handlers: { vm: { plugin: 'vm', substrate: { state_dir: join(dir, 'sim') } } },
  };
  const file = join(dir, 'amh.yaml');
  writeFileSync(file, stringify(yaml));
  const config = api.loadConfig({ path: file, env: {} });
  const runner = fakeRunner(); // a no-op handler: answers at once
  const service = new api.Service({ config, logger: api.silentLogger(), runner, instanceId: instance });
  let results = 0;
  let first = null;
  let fatal = null;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  let pauses = 0;
  service.events.on('backpressure', ({ paused }) => paused && pauses++);
  let cpu0 = null;
  service.events.on('queued', () => {
    if (first !== null) return;
    first = performance.now();
    cpu0 = process.cpuUsage();
  });
  service.events.on('result', () => {
    if (++results >= n) done();
  });
  service.events.on('fatal', ({ error }) => {
    fatal = error;
    done();
  });
  const timer = setTimeout(() => {
    fatal = new Error(`timed out with ${results}/${n} results`);
    done();
  }, 600_000);
  try {
    await service.start();
    const elu0 = performance.eventLoopUtilization();
    await finished;
    const end = performance.now();
    const cpu = process.cpuUsage(cpu0 ?? undefined);
    if (fatal) throw fatal;
    const seconds = (end - (first ?? end)) / 1000;
    if (process.env.AMH_BENCH_DEBUG) ctx.log(`pauses ${pauses} batcher ${JSON.stringify(service.batcher?.stats)} elu ${JSON.stringify(performance.eventLoopUtilization(elu0))}`);
    return { events_per_s: Math.round(n / seconds), wall_s: seconds, cpu_us_per_event: cpuPerEvent(cpu, n), playbook_runs: runner.calls };
  } finally {
    clearTimeout(timer);
    await service.stop();
  }
}

/**
 * CPU microseconds of this process per event, from the first event taken in to the last answered: less
 * sensitive than events/s to what else runs on a shared machine (the broker's CPU is not in it).
 */
function cpuPerEvent(usage, n) {
  return Math.round((usage.user + usage.system) / n);
}

/**
 * The build's run-time patches of kafkajs (its `kafkajsPatches` list, install/uninstall), or null for a build
 * without that list. The relays never pause, so the resume wake-up does nothing for them; the encoder fast
 * paths and the idle request queues do. Process-wide: whatever client runs while they are installed uses them.
 */
async function kafkajsPatches(repo) {
  const path = join(repo, 'dist', 'kafka', 'client.js');
  if (!existsSync(path)) return null;
  const list = (await import(path)).kafkajsPatches;
  if (!Array.isArray(list) || !list.every((p) => typeof p.uninstall === 'function')) return null;
  return { on: () => list.forEach((p) => p.install()), off: () => list.forEach((p) => p.uninstall()) };
}

/** A minimal kafkajs relay: consume the backlog, produce one reply per event (or per batch), commit. */
async function relay(ctx, { events, replies, groupId, n, mode }) {
  const kafka = kafkaOf(ctx.brokers);
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await Promise.all([producer.connect(), consumer.connect()]);
  let count = 0;
  let first = null;
  let cpu0 = null;
  const begin = () => {
    if (first !== null) return;
    first = performance.now();
    cpu0 = process.cpuUsage();
  };
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  try {
    await consumer.subscribe({ topic: events, fromBeginning: true });
    const reply = (m) => ({ key: m.key, value: m.value });
    if (mode === 'eachMessage') {
      // kafkajs' own commit: the offsets eachMessage resolved, committed after each fetched batch.
      await consumer.run({
        partitionsConsumedConcurrently: PARTITIONS,
        eachMessage: async ({ message }) => {
          begin();
          await producer.send({ topic: replies, acks: -1, messages: [reply(message)] });
          if (++count >= n) done();
        },
      });
    } else {
      await consumer.run({
        partitionsConsumedConcurrently: PARTITIONS,
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
          begin();
          await producer.send({ topic: replies, acks: -1, messages: batch.messages.map(reply) });
          for (const m of batch.messages) resolveOffset(m.offset);
          await commitOffsetsIfNecessary();
          count += batch.messages.length;
          if (count >= n) done();
        },
      });
    }
    await finished;
    const seconds = (performance.now() - first) / 1000;
    return { events_per_s: Math.round(n / seconds), wall_s: seconds, cpu_us_per_event: cpuPerEvent(process.cpuUsage(cpu0), n) };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  }
}

function topicSet(tag) {
  return {
    events: `amh-bench-${tag}.events`,
    replies: `amh-bench-${tag}.replies`,
    dead_letter: `amh-bench-${tag}.dlq`,
    state: `amh-bench-${tag}.state`,
  };
}

/** Fresh topics and a backlog of `n` events; remembers what to delete. */
async function prepare(ctx, n) {
  const api = await dist(ctx.repo);
  const tag = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const topics = topicSet(tag);
  await createTopics(ctx.brokers, Object.values(topics), [topics.state]);
  await produceBacklog(api, ctx.brokers, topics.events, n, tag);
  ctx.log(`backlog of ${n} events on ${topics.events}`);
  Object.assign(ctx.state, { api, tag, topics, n, created: Object.values(topics), rep: 0 });
}

/** A fresh reply topic per repetition (the variants do not read each other's replies). */
async function freshReplies(ctx, variant) {
  const replies = `amh-bench-${ctx.state.tag}.replies-${variant}-${ctx.state.rep++}`;
  await createTopics(ctx.brokers, [replies]);
  ctx.state.created.push(replies);
  return replies;
}

async function cleanup(ctx) {
  if (ctx.state.created) await deleteTopics(ctx.brokers, ctx.state.created, ctx.log);
}

/**
 * One batch of `size` answered events written the two ways considered (README "Batched writes"): the ledger
 * answers in one acknowledged request, then the replies in a second, then the offset commit (what the service
 * does); or all of it in one Kafka transaction (answers + replies + sendOffsets, then commit). Returns ms per batch.
 */
async function writeBatches(ctx, variant, batches, size) {
  const { state, replies, events, tag } = ctx.state;
  const kafka = kafkaOf(ctx.brokers);
  const transactional = variant === 'transaction';
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    ...(transactional ? { transactionalId: `amh-bench-${tag}-${ctx.state.rep++}`, idempotent: true, maxInFlightRequests: 1 } : {}),
  });
  // The offset commit of the non-transactional way: a member of a live group, as the service commits.
  const consumer = transactional ? null : kafka.consumer({ groupId: `amh-bench-${tag}-commits`, maxWaitTimeInMs: 100 });
  await producer.connect();
  if (consumer) {
    await consumer.connect();
    const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve));
    await consumer.subscribe({ topic: events });
    await consumer.run({ autoCommit: false, eachMessage: async () => {} });
    await joined;
  }
  const value = Buffer.alloc(600, 7); // about a ledger record / a reply of a VM create
  let offset = 0;
  try {
    const t0 = performance.now();
    for (let b = 0; b < batches; b++) {
      const keys = Array.from({ length: size }, (_, i) => `bench-${tag}-${b}-${i}`);
      const answers = { topic: state, messages: keys.map((key) => ({ key, value })) };
      const out = { topic: replies, messages: keys.map((key) => ({ key, value })) };
      offset += size;
      const offsets = [{ topic: events, partitions: [{ partition: 0, offset: String(offset) }] }];
      if (transactional) {
        const tx = await producer.transaction();
        await tx.sendBatch({ acks: -1, topicMessages: [answers, out] });
        await tx.sendOffsets({ consumerGroupId: `amh-bench-${tag}-tx`, topics: offsets });
        await tx.commit();
      } else {
        await producer.sendBatch({ acks: -1, topicMessages: [answers] });
        await producer.sendBatch({ acks: -1, topicMessages: [out] });
        await consumer.commitOffsets([{ topic: events, partition: 0, offset: String(offset) }]);
      }
    }
    const ms = (performance.now() - t0) / batches;
    return { ms_per_batch: ms, events_per_s: Math.round((size * 1000) / ms) };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await consumer?.disconnect().catch(() => undefined);
  }
}

/** @type {import('../lib/row.js').Row[]} */
export const rows = [
  {
    id: 'pipeline-throughput',
    title: 'pipeline events/s, no-op handler, 3 partitions: amh vs a minimal kafkajs relay',
    variants: ['relay-eachMessage', 'relay-eachBatch', 'relay-eachMessage-fast', 'amh'],
    // One unrecorded drain of each variant first: the service has far more code for the JIT to compile than a
    // relay; four drains in one process used 1,091 µs of CPU per event cold, then 891, 761 and 535.
    warmup: 1,
    async setup(ctx) {
      await prepare(ctx, ctx.quick ? 5_000 : 20_000);
    },
    async measure(variant, ctx) {
      const { api, topics, n, tag } = ctx.state;
      const replies = await freshReplies(ctx, variant);
      const groupId = `amh-bench-${tag}-${variant}-${ctx.state.rep}`;
      if (variant === 'amh') {
        // A fresh state topic too: every event runs (nothing is a duplicate of an earlier repetition).
        const state = `amh-bench-${tag}.state-${ctx.state.rep}`;
        await createTopics(ctx.brokers, [state], [state]);
        ctx.state.created.push(state);
        return serviceDrain(api, ctx, { topics: { ...topics, replies, state }, groupId, n, instance: `bench-${tag}-${ctx.state.rep}`, extra: { kafka: tuning() } });
      }
      const paths = await kafkajsPatches(ctx.repo);
      const stock = variant !== 'relay-eachMessage-fast';
      if (stock) paths?.off();
      try {
        return await relay(ctx, { events: topics.events, replies, groupId, n, mode: variant === 'relay-eachBatch' ? 'eachBatch' : 'eachMessage' });
      } finally {
        paths?.on();
      }
    },
    teardown: cleanup,
    compare: [
      { metric: 'events_per_s', subject: 'amh', baseline: 'relay-eachMessage', target: { min: 0.5 } },
      { metric: 'events_per_s', subject: 'amh', baseline: 'relay-eachBatch' },
      { metric: 'events_per_s', subject: 'amh', baseline: 'relay-eachMessage-fast' },
      { metric: 'cpu_us_per_event', subject: 'amh', baseline: 'relay-eachMessage' },
    ],
  },
  {
    id: 'write-batch-transaction',
    title: 'one batch of 10 answered events: ledger answers then replies (two requests) vs one Kafka transaction',
    variants: ['two-requests', 'transaction'],
    async setup(ctx) {
      const tag = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
      const topics = { state: `amh-bench-${tag}.state`, replies: `amh-bench-${tag}.replies`, events: `amh-bench-${tag}.events` };
      await createTopics(ctx.brokers, Object.values(topics), [topics.state]);
      Object.assign(ctx.state, { ...topics, tag, created: Object.values(topics), rep: 0 });
    },
    async measure(variant, ctx) {
      return writeBatches(ctx, variant, ctx.quick ? 100 : 400, 10);
    },
    teardown: cleanup,
    compare: [{ metric: 'ms_per_batch', subject: 'transaction', baseline: 'two-requests' }],
  },
  {
    id: 'replay-10k',
    title: 'replay of 10k answered events from offset 0 (fresh group): events/s and playbook runs',
    variants: ['replay'],
    async setup(ctx) {
      const n = ctx.quick ? 2_000 : 10_000;
      await prepare(ctx, n);
      const { api, topics, tag } = ctx.state;
      // Answer every event once (not measured): the ledgers now hold all of them.
      const first = await serviceDrain(api, ctx, { topics, groupId: `amh-bench-${tag}-first`, n, instance: `bench-${tag}-first` });
      if (first.playbook_runs !== n) throw new Error(`the first pass ran ${first.playbook_runs} playbooks for ${n} events`);
    },
    async measure(_variant, ctx) {
      const { api, topics, n, tag } = ctx.state;
      const rep = ctx.state.rep++;
      return serviceDrain(api, ctx, { topics, groupId: `amh-bench-${tag}-replay-${rep}`, n, instance: `bench-${tag}-replay-${rep}` });
    },
    teardown: cleanup,
    compare: [],
    checks: [{ metric: 'playbook_runs', variant: 'replay', target: { max: 0 } }],
  },
];
