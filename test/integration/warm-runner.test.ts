import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WarmPool } from '../../src/ansible/index.js';
import type { PlaybookRunner, PlaybookRunResult } from '../../src/ansible/types.js';
import { playbooksDir } from '../../src/paths.js';
import { processesWith, sharedWarmPool, testRunner, waitFor } from '../helpers/ansible.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/playbooks');
const fixture = (name: string): string => join(FIXTURES, name);
const uniqueMarker = (): string => `${600 + Math.floor(Math.random() * 100)}.${process.pid}${Math.floor(Math.random() * 1e6)}`;

/** Every sim playbook, in an order where each finds what the earlier ones made (create before probe before delete). */
const SIM_ORDER = [
  'vm_create', 'vm_pci', 'vm_post_boot', 'vm_nic_config', 'vm_storage_config', 'vm_volume', 'vm_ssh_keys', 'vm_poa',
  'vm_probe', 'vm_list', 'vm_reboot', 'vm_mark_failed', 'vm_nvme_cleanup', 'vm_delete',
  'net_create', 'net_probe', 'net_list', 'net_mark_failed', 'net_delete',
  'switch_create', 'switch_probe', 'switch_list', 'switch_delete', 'plan_check',
];

/** One set of extra vars for every sim playbook (each reads what it needs; a playbook refusing them must refuse in both runners). */
function simVars(stateDir: string): Record<string, unknown> {
  return {
    state_dir: stateDir,
    sliver_id: 'warm-eq',
    name: 'node1',
    worker: 'sim-worker-1',
    flavor: { core: 2, ram: 8, disk: 10 },
    image: 'default_rocky_9',
    ssh_keys: ['ssh-ed25519 AAAAC3Nza test'],
    mgmt_ipv6: false,
    component_op: 'attach',
    component: { name: 'gpu1', type: 'GPU', model: 'Tesla T4', bdfs: ['0000:25:00.0'], interfaces: [] },
    poa_operation: 'cpuinfo',
    poa_args: {},
    failed_step: 'boot',
    failure_message: 'equivalence test',
    service: {
      name: 'svc1',
      sliver_id: 'warm-eq-net',
      type: 'L2Bridge',
      interfaces: [
        { name: 'a', site: 'SIM1', device: 'sim-sw-1', port: 'HundredGigE0/0/0/5', vlan: null, bandwidth: 10, mac: '02:00:00:00:0a:01' },
        { name: 'b', site: 'SIM1', device: 'sim-sw-1', port: 'HundredGigE0/0/0/6', vlan: 200, bandwidth: 10, mac: '02:00:00:00:0a:02' },
      ],
    },
    switch: {
      instance_name: 'warm-eq-sw',
      sliver_id: 'warm-eq-sw',
      name: 'sw1',
      site: 'SIM1',
      device: 'sim-p4-1',
      ports: [{ name: 'p1', port: '1/0', vlan: 300, mac: '02:00:00:00:0b:01' }],
      ssh_keys: ['ssh-ed25519 AAAAC3Nza test'],
      mgmt_ipv6: false,
    },
    claims: [],
  };
}

/** What a user of the result sees, with the run's own paths and clock readings taken out. */
function comparable(result: PlaybookRunResult, dirs: string[]): unknown {
  let text = JSON.stringify({
    outcome: result.outcome,
    exitCode: result.exitCode,
    tasks: result.tasks,
    stats: result.stats,
    data: result.data,
    hostData: result.hostData ?? null,
    failedTask: result.failedTask ?? null,
  });
  for (const dir of dirs) text = text.split(dir).join('<dir>');
  text = text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?/g, '<time>')
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+/g, '<time>')
    .replace(/"delta":"[^"]*"/g, '"delta":"<delta>"')
    .replace(/run-[A-Za-z0-9]{6}/g, 'run-<id>')
    .replace(/ansible-tmp-[0-9.-]+/g, 'ansible-tmp-<id>');
  return JSON.parse(text);
}

let pool: WarmPool;
let bare: PlaybookRunner;
let warm: PlaybookRunner;
let workDirs: string[] = [];

beforeAll(async () => {
  pool = await sharedWarmPool();
  const spawned = await testRunner({ warm: { pool, default: false } });
  const forked = await testRunner({ warm: { pool, default: true } });
  bare = spawned.runner;
  warm = forked.runner;
  workDirs = [spawned.workDir, forked.workDir];
}, 120_000);

afterAll(async () => {
  await pool?.stop();
});

describe('warm runner: the same results as ansible-playbook', () => {
  it('every sim playbook, run bare and warm on twin substrates: same events, stats, data and exit code', async () => {
    const states = [await mkdtemp(join(tmpdir(), 'amh-eq-bare-')), await mkdtemp(join(tmpdir(), 'amh-eq-warm-'))] as const;
    try {
      const sequence = async (runner: PlaybookRunner, stateDir: string): Promise<PlaybookRunResult[]> => {
        const results: PlaybookRunResult[] = [];
        for (const name of SIM_ORDER) results.push(await runner({ playbook: playbooksDir('sim', `${name}.yml`), extraVars: simVars(stateDir) }));
        return results;
      };
      const [fromBare, fromWarm] = await Promise.all([sequence(bare, states[0]), sequence(warm, states[1])]);
      expect(fromBare.every((r) => r.via === 'spawn')).toBe(true);
      expect(fromWarm.every((r) => r.via === 'warm')).toBe(true);
      // The sequence really exercises the substrate: 20 of the 24 succeed (VM, network service and P4 switch
      // lifecycles); the other four refuse these vars, which both runners must do alike.
      expect(fromBare.filter((r) => r.outcome === 'ok').length).toBeGreaterThanOrEqual(20);
      for (const [i, name] of SIM_ORDER.entries()) {
        const b = fromBare[i] as PlaybookRunResult;
        const w = fromWarm[i] as PlaybookRunResult;
        expect(comparable(w, [states[1], ...workDirs]), name).toEqual(comparable(b, [states[0], ...workDirs]));
      }
    } finally {
      await Promise.all(states.map((s) => rm(s, { recursive: true, force: true })));
    }
  }, 240_000);

  it.each(['ok.yml', 'fail.yml', 'big-output.yml', 'broken.yml', 'unreachable.yml'])('%s: the same result bare and warm', async (name) => {
    const vars = { payload: 'x'.repeat(20), nested: { a: [1, 2] }, reason: 'disk on fire' };
    const [b, w] = await Promise.all([bare({ playbook: fixture(name), extraVars: vars }), warm({ playbook: fixture(name), extraVars: vars })]);
    expect(w.via).toBe('warm');
    expect(comparable(w, workDirs)).toEqual(comparable(b, workDirs));
    // Ansible's own messages on stderr (parse errors, warnings) reach the tail as they would.
    expect(w.stderrTail.replace(/run-\w+/g, '')).toEqual(b.stderrTail.replace(/run-\w+/g, ''));
  }, 60_000);

  it('a timeout kills the forked run\'s whole process group: timed_out, nothing left, run dir removed', async () => {
    const { runner, workDir } = await testRunner({ warm: { pool, default: true } });
    const marker = uniqueMarker();
    let sawSleep = false;
    const watcher = setInterval(() => (sawSleep ||= processesWith(marker).length >= 3), 50);
    const result = await runner({ playbook: fixture('sleep.yml'), extraVars: { marker }, timeoutMs: 4000, killGraceMs: 2000 });
    clearInterval(watcher);
    expect(result.via).toBe('warm');
    expect(sawSleep).toBe(true);
    expect(result.outcome).toBe('timed_out');
    expect(processesWith(marker)).toEqual([]);
    expect(readdirSync(workDir)).toEqual([]);
    expect(pool.pids()).toHaveLength(1); // the zygote itself is untouched
  }, 30_000);

  it('cancellation kills the forked run\'s whole process group at once: cancelled, nothing left', async () => {
    const { runner, workDir } = await testRunner({ warm: { pool, default: true } });
    const marker = uniqueMarker();
    const controller = new AbortController();
    const running = runner({ playbook: fixture('sleep.yml'), extraVars: { marker }, signal: controller.signal });
    try {
      await waitFor(() => processesWith(marker).length >= 3, 30_000, 'the shell and both sleeps to start');
    } finally {
      controller.abort();
    }
    const abortedAt = Date.now();
    const result = await running;
    expect(result.outcome).toBe('cancelled');
    expect(result.via).toBe('warm');
    expect(Date.now() - abortedAt).toBeLessThan(4000);
    expect(processesWith(marker)).toEqual([]);
    expect(readdirSync(workDir)).toEqual([]);
  }, 45_000);

  it('a missing playbook fails the same way as bare (exit code and message)', async () => {
    const missing = join(FIXTURES, 'does-not-exist.yml');
    const [b, w] = await Promise.all([bare({ playbook: missing, extraVars: {} }), warm({ playbook: missing, extraVars: {} })]);
    expect(w.exitCode).toBe(b.exitCode);
    expect(w.outcome).toBe(b.outcome);
    expect(basename(w.playbook)).toBe('does-not-exist.yml');
    expect(w.stderrTail).toContain('does-not-exist.yml');
  }, 30_000);
});
