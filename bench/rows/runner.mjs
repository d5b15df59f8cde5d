// Bench rows of the warm playbook runner (issue 11, item 1): `npm run bench -- --only runner-per-run,vm-create-4`.
//
// runner-per-run: the same playbooks run by today's runner (spawns ansible-playbook) and by the warm runner (forked
//   from a zygote that imported Ansible once): a one-task play and a 7-event sim playbook (vm_probe.yml: playbook,
//   play, task, result, task, result, stats). Wall seconds, and CPU seconds of the whole process tree: this process
//   plus every process it or the zygote waited for (/proc/<pid>/stat utime+stime+cutime+cstime, before and after),
//   plus the zygote's own. `warm+mitogen` (Mitogen's strategy on top, where `AMH_MITOGEN=1 npm run ansible:setup`
//   installed it) is a third variant when available.
// vm-create-4: a VM REDEEM with a GPU, a SmartNIC, an NVME and a Storage volume through the real VM handler on the
//   sim playbooks (nine playbook runs), today's runner vs the warm runner: wall and CPU seconds of the whole tree;
//   at least 10 repetitions, the order alternating.
// Neither needs Kafka. Both need the build (dist/) and ansible-playbook (`npm run ansible:setup`).

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { vmRedeem } from '../lib/events.mjs';
import { treeCpu } from '../lib/service.mjs';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Wall and CPU seconds of `fn`, counting this process, its waited-for children and the zygotes (`pids`). */
async function measured(pids, fn) {
  const all = ['self', ...pids];
  const before = all.map(treeCpu);
  const started = process.hrtime.bigint();
  const value = await fn();
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const after = all.map(treeCpu);
  const cpu = after.reduce((sum, v, i) => sum + v - before[i], 0);
  return { wall, cpu, value };
}

async function load(repo) {
  const dist = join(repo, 'dist');
  if (!existsSync(join(dist, 'index.js'))) throw new Error('no build: run `npm run build` first');
  const ansible = await import(join(dist, 'ansible', 'index.js'));
  const paths = await import(join(dist, 'paths.js'));
  let ansiblePlaybook;
  try {
    ansiblePlaybook = ansible.locateAnsiblePlaybook(repo);
  } catch (err) {
    throw new Error(`no ansible-playbook: ${err.message}`);
  }
  return { ansible, paths, ansiblePlaybook };
}

/** Mitogen for Ansible, where `AMH_MITOGEN=1 npm run ansible:setup` put it: the env that turns its strategy on, or null. */
function mitogenEnv(repo) {
  const dir = process.env.AMH_MITOGEN_DIR ?? join(repo, 'var', 'mitogen');
  const plugins = join(dir, 'ansible_mitogen', 'plugins', 'strategy');
  if (!existsSync(plugins)) return null;
  return { ANSIBLE_STRATEGY_PLUGINS: plugins, ANSIBLE_STRATEGY: 'mitogen_linear', PYTHONPATH: dir };
}

const MITOGEN = mitogenEnv(REPO);

const ONE_TASK = `- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: one task
      ansible.builtin.command: "true"
      changed_when: false
`;

/** @type {import('../lib/row.js').Row[]} */
export const rows = [
  {
    id: 'runner-per-run',
    title: 'warm runner vs bare ansible-playbook, per run (one-task play; 7-event sim playbook)',
    variants: ['bare', 'warm', ...(MITOGEN ? ['warm+mitogen'] : [])],
    async setup(ctx) {
      const { ansible, paths, ansiblePlaybook } = await load(ctx.repo);
      const workDir = join(ctx.tmp, 'runs');
      const pool = new ansible.WarmPool({ ansiblePlaybook, workDir, playbooksDir: paths.playbooksDir() });
      await pool.whenReady(120_000);
      const runner = (warm) => ansible.createPlaybookRunner({ ansiblePlaybook, workDir, warm: { pool, default: warm } });
      const oneTask = join(ctx.tmp, 'one-task.yml');
      writeFileSync(oneTask, ONE_TASK);
      const stateDir = join(ctx.tmp, 'sim');
      mkdirSync(stateDir, { recursive: true });
      Object.assign(ctx.state, { pool, bare: runner(false), warm: runner(true), oneTask, stateDir, mitogen: MITOGEN });
      ctx.log(`runner-per-run: zygote ready (${pool.stats().map((z) => `${Math.round((z.rssBytes ?? 0) / 1048576)} MiB`).join(', ')} resident)${MITOGEN ? '; Mitogen found' : ''}`);
    },
    async measure(variant, ctx) {
      const s = ctx.state;
      const runner = variant === 'bare' ? s.bare : s.warm;
      const env = variant === 'warm+mitogen' ? s.mitogen : undefined;
      const pids = s.pool.pids();
      const run = async (playbook, extraVars) => {
        const result = await runner({ playbook, extraVars, ...(env ? { env } : {}) });
        if (result.outcome !== 'ok') throw new Error(`${variant}: ${playbook} ${result.outcome}: ${result.stderrTail.slice(-300)}`);
        if (result.via !== (variant === 'bare' ? 'spawn' : 'warm')) throw new Error(`${variant}: ran ${result.via}`);
      };
      const one = await measured(pids, () => run(s.oneTask, {}));
      const seven = await measured(pids, () =>
        run(join(ctx.repo, 'playbooks', 'sim', 'vm_probe.yml'), { sliver_id: 'bench', name: 'node1', state_dir: s.stateDir }),
      );
      return { wall_s: one.wall, cpu_s: one.cpu, wall7_s: seven.wall, cpu7_s: seven.cpu };
    },
    async teardown(ctx) {
      await ctx.state.pool?.stop();
    },
    compare: [
      { metric: 'wall_s', subject: 'warm', baseline: 'bare', target: { max: 0.6 } },
      { metric: 'cpu_s', subject: 'warm', baseline: 'bare', target: { max: 0.6 } },
      { metric: 'wall7_s', subject: 'warm', baseline: 'bare', target: { max: 0.6 } },
      { metric: 'cpu7_s', subject: 'warm', baseline: 'bare', target: { max: 0.6 } },
      ...(MITOGEN
        ? [
            { metric: 'wall7_s', subject: 'warm+mitogen', baseline: 'bare', target: { max: 0.6 } },
            { metric: 'cpu7_s', subject: 'warm+mitogen', baseline: 'bare', target: { max: 0.6 } },
          ]
        : []),
    ],
  },
  {
    id: 'vm-create-4',
    title: 'VM create with GPU, SmartNIC, NVME and Storage (sim, VM handler): spawned runs vs warm runner',
    variants: ['spawn', 'warm'],
    // One create per measurement (9 runs, 6-11 s): with 3 repetitions the per-repetition ratios spread over
    // 0.55-0.66 and a whole run's median moved with the machine (0.65-0.68); 10 alternating ones gave 0.63 and 0.63.
    minReps: 10,
    alternate: true,
    async setup(ctx) {
      const { ansible, paths, ansiblePlaybook } = await load(ctx.repo);
      const pkg = await import(join(ctx.repo, 'dist', 'index.js'));
      const workDir = join(ctx.tmp, 'runs');
      const pool = new ansible.WarmPool({ ansiblePlaybook, workDir, playbooksDir: paths.playbooksDir() });
      await pool.whenReady(120_000);
      const runner = (warm) => ansible.createPlaybookRunner({ ansiblePlaybook, workDir, warm: { pool, default: warm } });
      Object.assign(ctx.state, { pkg, pool, runners: { spawn: runner(false), warm: runner(true) }, codec: new pkg.AvroCodec(pkg.SchemaCatalog.load()), rep: 0 });
    },
    async measure(variant, ctx) {
      const s = ctx.state;
      const { pkg } = s;
      // A fresh substrate per repetition and variant: every create starts from the same empty sim.
      const dir = join(ctx.tmp, `rep-${s.rep++}-${variant}`);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'amh.yaml');
      writeFileSync(
        file,
        stringify({
          logging: { level: 'silent' },
          runtime: { work_dir: join(dir, 'runs') },
          handlers: { vm: { plugin: 'vm', playbooks: { location: join(ctx.repo, 'playbooks', 'sim') }, substrate: { state_dir: join(dir, 'sim') }, runtime: { retry_delay: '0s' } } },
        }),
      );
      const config = pkg.loadConfig({ path: file, env: {} });
      const registry = pkg.HandlerRegistry.fromConfig(config, pkg.BUILTIN_PLUGINS);
      let runs = 0;
      const counted = async (request) => {
        runs++;
        const result = await s.runners[variant](request);
        if (result.via !== variant) throw new Error(`${variant}: a run was ${result.via}`);
        return result;
      };
      const executor = new pkg.Executor({ registry, runner: counted, killGraceMs: 2000 });
      const event = await vmCreateEvent(s.codec);
      const { wall, cpu, value: result } = await measured(s.pool.pids(), () => executor.execute(event, { logger: pkg.silentLogger() }));
      if (result.outcome !== 'OK') throw new Error(`${variant}: the create was ${result.outcome}: ${result.message}`);
      return { wall_s: wall, cpu_s: cpu, playbook_runs: runs };
    },
    async teardown(ctx) {
      await ctx.state.pool?.stop();
    },
    compare: [
      { metric: 'cpu_s', subject: 'warm', baseline: 'spawn', target: { max: 0.65 } },
      { metric: 'wall_s', subject: 'warm', baseline: 'spawn' },
    ],
    checks: [{ metric: 'playbook_runs', variant: 'warm', target: { min: 9, max: 9 } }],
  },
];

/** The event the AM would send for a VM with four components, decoded as the service would (defaults filled in). */
async function vmCreateEvent(codec) {
  const sliverId = `bench-${randomUUID().slice(0, 8)}`;
  const raw = vmRedeem(sliverId, {
    components: [
      { name: 'GPU1', type: 'GPU', model: 'Tesla T4', bdfs: ['0000:25:00.0'] },
      {
        name: 'NIC1',
        type: 'SmartNIC',
        model: 'ConnectX-6',
        bdfs: ['0000:41:00.0', '0000:41:00.1'],
        interfaces: [{ name: 'NIC1-p1', ipv4: '192.168.10.2/24', auto_config: true }, { name: 'NIC1-p2' }],
      },
      { name: 'NVME1', type: 'NVME', model: 'P4510', bdfs: ['0000:21:00.0'] },
      { name: 'data1', type: 'Storage', auto_mount: true, labels: { local_name: 'scratch' } },
    ],
    labels: {},
  });
  return (await codec.decode('event', codec.encode('event', raw))).value;
}
