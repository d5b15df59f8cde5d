import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlaybookRunner } from '../../src/ansible/types.js';
import { playbooksDir } from '../../src/paths.js';
import { testRunner } from '../helpers/ansible.js';
import { testConfig } from '../helpers/config.js';
import { kafkaBrokers, produceRaw, uniqueName } from '../helpers/kafka.js';
import { startAmhProcess, type AmhProcess } from '../helpers/process.js';
import { codec, createServiceTopics, resultOf, testTopics } from '../helpers/service.js';
import { DEVICES, SimState, WORKER, gpu, nvme, vmWith } from '../helpers/sim.js';
import { testRoot } from '../helpers/slow.js';

// Tenant data is never handed on: a drive that held a VM's data (NVME) is
// not free for the next VM until a wipe is recorded, whatever step a crash
// hits. Detach leaves it held "wipe pending"; the wipe records and frees it;
// a re-run (probe, teardown) finds pending wipes and finishes them.

const vars = (stateDir: string, sliverId: string) => ({
  sliver_id: sliverId,
  name: 'node1',
  worker: WORKER,
  flavor: { core: 2, ram: 8, disk: 10 },
  state_dir: stateDir,
  delete_retries: 1,
});

/** A VM with this NVME attached, made by the sim playbooks directly (what a REDEEM leaves). */
async function vmWithNvme(runner: PlaybookRunner, stateDir: string, sliverId: string, drive: Record<string, unknown>): Promise<void> {
  const v = vars(stateDir, sliverId);
  const created = await runner({ playbook: playbooksDir('sim', 'vm_create.yml'), extraVars: v });
  expect(created.outcome, created.stderrTail).toBe('ok');
  const attached = await runner({ playbook: playbooksDir('sim', 'vm_pci.yml'), extraVars: { ...v, component_op: 'attach', component: drive } });
  expect(attached.outcome, attached.stderrTail).toBe('ok');
}

describe('sim: a detached NVME is held, wipe pending, until it is wiped', () => {
  it('is refused to another VM, listed by the probe, and freed only by the wipe (which records it)', async () => {
    const { runner } = await testRunner();
    const sim = new SimState(await mkdtemp(join(tmpdir(), 'amh-sim-')));
    const drive = nvme('NVME1', DEVICES.nvme[2]);
    await vmWithNvme(runner, sim.dir, 'tenant-a', drive);
    await vmWithNvme(runner, sim.dir, 'tenant-b', gpu());
    const a = vars(sim.dir, 'tenant-a');

    const detached = await runner({ playbook: playbooksDir('sim', 'vm_pci.yml'), extraVars: { ...a, component_op: 'detach', component: drive } });
    expect(detached.outcome, detached.stderrTail).toBe('ok');
    expect(sim.holder(DEVICES.nvme[2])).toMatchObject({ instance_name: 'tenant-a-node1', wipe_pending: true });
    expect(sim.freeOnlyIfWiped(DEVICES.nvme[2], 'tenant-a-node1')).toBe(true);

    const stolen = await runner({ playbook: playbooksDir('sim', 'vm_pci.yml'), extraVars: { ...vars(sim.dir, 'tenant-b'), component_op: 'attach', component: drive } });
    expect(stolen.outcome).toBe('failed');
    expect(stolen.failedTask?.result).toMatchObject({ error_code: 'wipe_pending' });

    const probed = await runner({ playbook: playbooksDir('sim', 'vm_probe.yml'), extraVars: a });
    expect(probed.data.probe).toMatchObject({
      components: [],
      stray_bdfs: [],
      wipe_pending: [{ worker: WORKER, bdf: DEVICES.nvme[2], component: 'NVME1', type: 'NVME', instance_name: 'tenant-a-node1' }],
    });

    const wiped = await runner({ playbook: playbooksDir('sim', 'vm_nvme_cleanup.yml'), extraVars: { ...a, component: drive } });
    expect(wiped.outcome, wiped.stderrTail).toBe('ok');
    expect(sim.holder(DEVICES.nvme[2])).toBeUndefined();
    expect(sim.lastWipe(DEVICES.nvme[2])).toMatchObject({ instance_name: 'tenant-a-node1', reason: 'delete' });
  });
});

/**
 * kill -9 of `amh run` at each step of a CLOSE of a VM with an NVME, then a
 * restart: the CLOSE ends OK, and at no point is the drive free without a
 * wipe since its tenant. `after` is the step whose completion triggers the
 * kill; `labels` slow the step that follows (sim.delay_seconds) so the kill
 * lands while it runs, before it changes anything.
 */
const CASES: { after: string; labels: Record<string, string>; nvmeLabels: Record<string, string> }[] = [
  { after: 'probe_vm', labels: {}, nvmeLabels: { 'sim.delay_seconds': '2' } }, //               killed while detach runs
  { after: 'detach_component NVME1', labels: {}, nvmeLabels: { 'sim.delay_seconds': '2' } }, // killed while the wipe runs
  { after: 'wipe_nvme NVME1', labels: { 'sim.delay_seconds': '2' }, nvmeLabels: { 'sim.delay_seconds': '0' } }, // while delete runs
  { after: 'delete_vm', labels: {}, nvmeLabels: {} }, //                                         before the reply
];

describe('VM CLOSE killed with -9 at each step (real broker, real ansible-playbook)', () => {
  const topics = testTopics();
  let config: ReturnType<typeof testConfig>;
  let sim: SimState;
  let runner: PlaybookRunner;
  let amh: AmhProcess;

  const start = (): AmhProcess => startAmhProcess(config.source);

  beforeAll(async () => {
    await createServiceTopics(topics);
    config = testConfig({
      kafka: { brokers: kafkaBrokers(), group_id: uniqueName('wipe-crash'), topics, create_topics: false, session_timeout: '6s' },
      // A short lease: the restarted instance takes over the killed one's slivers within seconds.
      consumer: { shutdown_grace: '5s', lease_ttl: '5s' },
      logging: { level: 'info' },
      handlers: { vm: { runtime: { delete_retries: 1, retry_delay: '0s' } } },
    });
    sim = new SimState(join(testRoot(config), 'sim'));
    ({ runner } = await testRunner());
    amh = start();
    await amh.waitForLog('"msg":"consuming"');
  });

  afterAll(async () => {
    if (amh && amh.child.exitCode === null && amh.child.signalCode === null) {
      amh.child.kill('SIGTERM');
      await amh.exited;
    }
  });

  it.each(CASES.map((c, i) => [c.after, c, i] as const))('killed after %s: the CLOSE ends OK and the drive was wiped before it became free', async (_, c, i) => {
    if (amh.child.exitCode !== null || amh.child.signalCode !== null) {
      amh = start(); // a previous case failed before its restart
      await amh.waitForLog('"msg":"consuming"');
    }
    const sliverId = `wipe-${i}-${uniqueName('s').slice(-6)}`;
    const tenant = `${sliverId}-node1`;
    const bdf = DEVICES.nvme[i % DEVICES.nvme.length] as string;
    const drive = { ...nvme('NVME1', bdf), labels: c.nvmeLabels };
    await vmWithNvme(runner, sim.dir, sliverId, nvme('NVME1', bdf));

    const close = vmWith(sliverId, [drive], { operation: 'CLOSE', sequence: 2, labels: c.labels });
    const done = `"msg":"step ${c.after} done"`;
    const before = amh.log().split(done).length - 1;
    await produceRaw(topics.events, [{ key: sliverId, value: codec.encode('event', close) }]);
    await amh.waitForLog(done, before + 1, 60_000);
    amh.child.kill('SIGKILL');
    await amh.exited;
    expect(sim.freeOnlyIfWiped(bdf, tenant), `after the kill: ${JSON.stringify(sim.holder(bdf))}, last wipe ${JSON.stringify(sim.lastWipe(bdf))}`).toBe(true);

    amh = start();
    const result = await resultOf(topics.replies, String(close.event_id), 90_000);
    expect(result.outcome, result.message).toBe('OK');
    expect(sim.vm(tenant)).toBeUndefined();
    expect(sim.holder(bdf)).toBeUndefined();
    expect(sim.lastWipe(bdf), `wipes: ${JSON.stringify(sim.wipes())}`).toMatchObject({ instance_name: tenant });
  });
});
