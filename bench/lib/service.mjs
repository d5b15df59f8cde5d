// A real Service from the build, on fresh topics and its own sim substrate
// directory, running the sim playbooks with real ansible-playbook: what the
// playbook-op and makespan rows measure. Results are awaited by event id.

import { vmRedeem } from './events.mjs';
import { randomBytes, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { stringify } from 'yaml';
import { loadDist } from './dist.mjs';
import { createTopicsReady } from './topics.mjs';

/** Fresh, uniquely named topics as `amh run` creates them (state compacted). */
export async function createTopics(kafka, prefix) {
  const tag = `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const topics = { events: `${tag}.events`, replies: `${tag}.replies`, dead_letter: `${tag}.dlq`, state: `${tag}.state` };
  await createTopicsReady(kafka, [
    ...[topics.events, topics.replies, topics.dead_letter].map((topic) => ({ topic, numPartitions: 1 })),
    { topic: topics.state, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
  ]);
  return topics;
}

export async function deleteTopics(kafka, topics, log) {
  if (!topics) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: Object.values(topics) });
  } catch (err) {
    log?.(`could not delete topics ${Object.values(topics).join(', ')}: ${err.message}`);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Start a Service (the built package) with `runner` (default: the real one,
 * which the service builds itself) and wait until it owns its partition.
 * Returns { service, send(events), result(eventId), stop() }.
 */
export async function startService({ repo, dir, brokers, topics, kafka, concurrency = 4, runner, ansible }) {
  const { Service, AvroCodec, SchemaCatalog, loadConfig, silentLogger, createLogger } = await loadDist(repo);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'amh.yaml');
  writeFileSync(file, stringify({
    kafka: { brokers, group_id: `amh-bench-${randomUUID().slice(0, 8)}`, topics, create_topics: false },
    consumer: { concurrency },
    runtime: { work_dir: join(dir, 'runs') },
    logging: { level: 'silent' },
    http: { port: 0 },
    handlers: { vm: { plugin: 'vm', playbooks: { location: join(repo, 'playbooks/sim') }, substrate: { state_dir: join(dir, 'sim') } } },
  }));
  const config = loadConfig({ path: file, env: { ...process.env, ...(ansible ? { AMH_ANSIBLE_PLAYBOOK: ansible } : {}) } });
  const level = process.env.AMH_BENCH_LOG;
  const service = new Service({ config, logger: level ? createLogger({ level, destination: 2 }) : silentLogger(), ...(runner ? { runner } : {}) });
  const codec = new AvroCodec(SchemaCatalog.load());
  const waiting = new Map();
  const results = new Map();
  service.events.on('result', ({ result }) => {
    results.set(result.event_id, { result, at: performance.now() });
    waiting.get(result.event_id)?.();
  });
  let fatal = null;
  service.events.on('fatal', ({ error }) => {
    fatal = error;
    for (const wake of waiting.values()) wake();
  });
  const owned = new Promise((resolve) => service.events.on('assigned', ({ owned: o }) => o.length > 0 && resolve()));
  await service.start();
  await Promise.race([owned, new Promise((_, reject) => setTimeout(() => reject(new Error('the service got no partition within 60 s')), 60_000).unref())]);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return {
    service,
    /** Produce events (one request); resolves when the broker has them. */
    send: (events) => producer.send({ topic: topics.events, acks: -1, messages: events.map((e) => ({ key: e.sliver_id, value: codec.encode('event', e) })) }),
    /** The result of an event once published, with performance.now() of that moment. */
    async result(eventId, timeoutMs = 300_000) {
      const deadline = performance.now() + timeoutMs;
      while (!results.has(eventId)) {
        if (fatal) throw fatal;
        if (performance.now() > deadline) throw new Error(`no result for ${eventId} within ${timeoutMs / 1000} s`);
        await new Promise((resolve) => {
          waiting.set(eventId, resolve);
          setTimeout(resolve, 1000).unref();
        });
        waiting.delete(eventId);
      }
      return results.get(eventId);
    },
    async stop() {
      await producer.disconnect().catch(() => {});
      await service.stop();
    },
  };
}

/** A plain VM event (REDEEM unless given) on sim-worker-1; `labels` e.g. { 'sim.boot_seconds': '2' }. */
export function vmEvent(sliverId, { operation = 'REDEEM', sequence = 1, labels = {}, core = 1 } = {}) {
  return vmRedeem(sliverId, { instance_type: 'fabric.c1.m2.d10', capacities: { core, ram: 2, disk: 10 }, labels }, { operation, sequence });
}

/** CPU seconds of this process's reaped children so far (ansible-playbook and its workers), from /proc/self/stat. */
export function childrenCpuSeconds() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14 here.
    return (Number(fields[13]) + Number(fields[14])) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of `pid` ('self' or a number) and of the children it waited for (Linux /proc: utime+stime+cutime+cstime). */
export function treeCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 (state) is f[0]: utime, stime, cutime, cstime are fields 14-17.
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTicks();
}

/**
 * CPU seconds of the playbook runs of `service` so far: the runs this process spawned and waited for, and
 * the warm zygotes with the runs they forked and waited for (a zygote is not waited for until it exits).
 */
export function runsCpuSeconds(service) {
  const zygotes = service.warmPool?.pids() ?? [];
  return zygotes.reduce((sum, pid) => sum + treeCpu(pid), childrenCpuSeconds());
}

let ticks;
function clockTicks() {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}
