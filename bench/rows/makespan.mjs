// Row `makespan-40`: 40 VM creates (sim substrate, each VM booting 2 s) sent at
// once to a real Service at consumer.concurrency 8. Each repetition first
// measures one create alone (send to result); the ideal makespan is
// ceil(40 / 8) = 5 waves of that. The CPU floor is the CPU seconds all the
// playbook runs of the 40 creates used (ansible-playbook and its workers,
// reaped children of this process) over the machine's cores: no schedule can
// finish sooner on this machine. --quick: 16 creates (2 waves).

import { cpus } from 'node:os';
import { join } from 'node:path';
import { requireAnsible, requireKafka } from '../lib/dist.mjs';
import { childrenCpuSeconds, createTopics, deleteTopics, runsCpuSeconds, startService, vmEvent } from '../lib/service.mjs';

const CONCURRENCY = 8;
const BOOT_SECONDS = '2';

/** @type {import('../lib/row.js').Row[]} */
export const rows = [
  {
    id: 'makespan-40',
    title: '40 VM creates with a 2 s boot at concurrency 8: makespan vs the ideal (5 waves of one create alone) and vs the CPU floor',
    variants: ['service'],
    async setup(ctx) {
      const bin = requireAnsible(ctx.repo);
      if (!Number.isFinite(childrenCpuSeconds())) throw new Error('no /proc/self/stat here: the CPU floor cannot be measured');
      const kafka = await requireKafka(ctx.brokers);
      const s = Object.assign(ctx.state, { kafka, creates: ctx.quick ? 16 : 40, rep: 0, simDir: process.env.AMH_SIM_STATE_DIR });
      s.topics = await createTopics(kafka, 'amh-bench-makespan');
      s.svc = await startService({ repo: ctx.repo, dir: join(ctx.tmp, 'svc'), brokers: ctx.brokers, topics: s.topics, kafka, concurrency: CONCURRENCY, ansible: bin });
      ctx.log(`${s.creates} creates per repetition at concurrency ${CONCURRENCY}, ${cpus().length} cores`);
    },
    async measure(_variant, ctx) {
      const s = ctx.state;
      // A fresh substrate per repetition, so earlier VMs do not fill the worker (the vm handler reads this per event).
      process.env.AMH_SIM_STATE_DIR = join(ctx.tmp, `sim-${++s.rep}`);
      const tag = `bench-mk-${Date.now().toString(36)}`;
      const labels = { 'sim.boot_seconds': BOOT_SECONDS };
      const ok = (r) => {
        if (r.result.outcome !== 'OK') throw new Error(`a create answered ${r.result.outcome}: ${r.result.message}`);
        return r;
      };

      const alone = vmEvent(`${tag}-alone`, { labels });
      const t0 = performance.now();
      await s.svc.send([alone]);
      const createS = (ok(await s.svc.result(alone.event_id)).at - t0) / 1000;

      const events = Array.from({ length: s.creates }, (_, i) => vmEvent(`${tag}-${i}`, { labels }));
      const cpu0 = runsCpuSeconds(s.svc.service);
      const own0 = process.cpuUsage();
      const t1 = performance.now();
      await s.svc.send(events);
      let last = t1;
      for (const e of events) last = Math.max(last, ok(await s.svc.result(e.event_id)).at);
      const runsCpu = runsCpuSeconds(s.svc.service) - cpu0;
      const own = process.cpuUsage(own0);
      const waves = Math.ceil(s.creates / CONCURRENCY);
      return {
        makespan_s: (last - t1) / 1000,
        create_alone_s: createS,
        ideal_s: waves * createS,
        cpu_floor_s: runsCpu / cpus().length,
        runs_cpu_per_create_s: runsCpu / s.creates,
        service_cpu_s: (own.user + own.system) / 1e6,
      };
    },
    async teardown(ctx) {
      const s = ctx.state;
      if (s.simDir === undefined) delete process.env.AMH_SIM_STATE_DIR;
      else process.env.AMH_SIM_STATE_DIR = s.simDir;
      await s.svc?.stop();
      if (s.kafka) await deleteTopics(s.kafka, s.topics, ctx.log);
    },
    compare: [
      { metric: 'makespan_s', subject: 'service', baseline: 'service', baselineMetric: 'ideal_s' },
      { metric: 'makespan_s', subject: 'service', baseline: 'service', baselineMetric: 'cpu_floor_s' },
    ],
  },
];
