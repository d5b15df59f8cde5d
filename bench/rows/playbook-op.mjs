// Row `playbook-op`: one single-playbook operation (a VM PROBE on the sim
// substrate) through a real Service, from the event's send to its published
// result, vs the very same ansible-playbook command run directly: the argv,
// environment, run directory, inventory and extra vars file that the
// service's runner built for its last probe (prepareRun from the build), spawned
// the way the runner spawns it. The difference is what the service adds around
// a playbook: Kafka in and out, decode, ledger writes, parsing the event stream.
//
// One probe per measurement, 60 repetitions at least, the two variants' order
// reversed every other one. That difference is about 2 % of a run, while this
// machine slows every process by up to a third in episodes of several seconds.
// Blocks of 4 probes per variant let an episode land on one variant: the same
// build measured 0.91 and 1.11 that way. Paired probe by probe, 20-pair windows
// of a 60-pair scratch run fell within 0.99-1.03 (README "Batched writes",
// eighth pass). At 30 repetitions, five runs of one day gave 1.01-1.06 around a
// 60-repetition run's 1.02: the median of 60 is steadier (ninth pass).

import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDist, requireAnsible, requireKafka } from '../lib/dist.mjs';
import { createTopics, deleteTopics, startService, vmEvent } from '../lib/service.mjs';

/** Run a prepared command like the runner does (own process group, stdout drained); resolves to its wall seconds. */
function runDirect(bin, run) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(bin, run.args, { cwd: run.dir, env: { ...process.env, ...run.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', () => {});
    child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = (performance.now() - t0) / 1000;
      if (code === 0) resolve(wall);
      else reject(new Error(`ansible-playbook exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
    });
  });
}

/** One PROBE through the service: its wall seconds from send to published result, and the playbook request it ran. */
async function probe(s) {
  const event = vmEvent(s.sliver, { operation: 'PROBE', sequence: ++s.sequence });
  const before = s.runs;
  const t0 = performance.now();
  await s.svc.send([event]);
  const { result, at } = await s.svc.result(event.event_id);
  if (result.outcome !== 'OK') throw new Error(`PROBE answered ${result.outcome}: ${result.message}`);
  if (s.runs !== before + 1) throw new Error(`a PROBE ran ${s.runs - before} playbooks, expected one`);
  return { wall: (at - t0) / 1000, request: s.lastRequest };
}

/** @type {import('../lib/row.js').Row[]} */
export const rows = [
  {
    id: 'playbook-op',
    title: 'a VM PROBE through the service (send to result) vs the same ansible-playbook command run directly',
    variants: ['service', 'direct'],
    minReps: 60,
    alternate: true,
    async setup(ctx) {
      const bin = requireAnsible(ctx.repo);
      const kafka = await requireKafka(ctx.brokers);
      const { createPlaybookRunner } = await loadDist(ctx.repo, 'ansible/index.js');
      const { prepareRun } = await loadDist(ctx.repo, 'ansible/run-dir.js');
      const { ansiblePython } = await loadDist(ctx.repo, 'ansible/interpreter.js');
      const { playbooksDir } = await loadDist(ctx.repo, 'paths.js');
      const real = createPlaybookRunner({ ansiblePlaybook: bin, workDir: join(ctx.tmp, 'runs') });
      const state = Object.assign(ctx.state, { kafka, bin, prepareRun, python: await ansiblePython(bin), playbooks: playbooksDir(), runs: 0, lastRequest: null });
      // The service's own runner, counting its runs and keeping the last request: the direct run repeats that probe exactly.
      const runner = (request) => {
        state.runs++;
        state.lastRequest = request;
        return real(request);
      };
      state.topics = await createTopics(kafka, 'amh-bench-op');
      state.svc = await startService({ repo: ctx.repo, dir: join(ctx.tmp, 'svc'), brokers: ctx.brokers, topics: state.topics, kafka, runner, ansible: bin });
      state.sliver = `bench-op-${Date.now().toString(36)}`;
      state.sequence = 1;
      const create = vmEvent(state.sliver);
      await state.svc.send([create]);
      const { result } = await state.svc.result(create.event_id);
      if (result.outcome !== 'OK') throw new Error(`the VM to probe was not created: ${result.outcome} ${result.message}`);
      // A first probe, so that the direct variant has a command to repeat whichever runs first.
      state.probeRequest = (await probe(state)).request;
      ctx.log(`VM ${state.sliver} created and probed; one probe per measurement`);
    },
    async measure(variant, ctx) {
      const s = ctx.state;
      if (variant === 'direct') {
        const run = await s.prepareRun(s.probeRequest, { workDir: join(ctx.tmp, 'direct'), playbooksDir: s.playbooks, python: s.python });
        try {
          return { op_wall_s: await runDirect(s.bin, run) };
        } finally {
          await rm(run.dir, { recursive: true, force: true });
        }
      }
      const { wall, request } = await probe(s);
      s.probeRequest = request;
      return { op_wall_s: wall };
    },
    async teardown(ctx) {
      const s = ctx.state;
      await s.svc?.stop();
      if (s.kafka) await deleteTopics(s.kafka, s.topics, ctx.log);
    },
    compare: [{ metric: 'op_wall_s', subject: 'service', baseline: 'direct', target: { max: 1.05 } }],
  },
];
