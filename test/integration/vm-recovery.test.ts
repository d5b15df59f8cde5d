import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playbooksDir } from '../../src/paths.js';
import { testRunner } from '../helpers/ansible.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { DEVICES, SimState, gpu, nvme, smartNic, vmWith } from '../helpers/sim.js';

// How a create recovers. A transient substrate failure (retriable: true in
// the task result): the handler rolls back, the executor retries in place,
// the retry builds the VM from scratch and answers OK with its attempts. A
// crash mid-create: the redelivered REDEEM finishes the half-done VM.
describe('VM create recovery', () => {
  let amh: TestService;
  let sim: SimState;
  let seen = 0;
  async function roundTrip(event: Record<string, unknown>) {
    await amh.send(event);
    seen += 1;
    const reply = (await amh.replies(seen))[seen - 1];
    expect(reply?.event_id).toBe(event.event_id);
    return reply!;
  }

  beforeAll(async () => {
    amh = await startTestService({
      handlers: { vm: { runtime: { retry_delay: '0s' }, retry: { attempts: 3, backoff_initial: '10ms', backoff_max: '10ms' } } },
    });
    sim = new SimState(amh.stateDir);
  });

  afterAll(async () => {
    await amh?.stop();
  });

  it('is retried in place after its rollback and ends OK with one set of devices', async () => {
    const flaky = { ...smartNic('NIC1'), labels: { 'sim.fail_at': 'attach_pci', 'sim.fail_mode': 'transient', 'sim.fail_count': '1' } };
    const reply = await roundTrip(vmWith('flaky', [gpu(), flaky]));
    expect(reply).toMatchObject({ outcome: 'OK', attempts: 2 });
    expect(reply.sliver?.components.map((c) => c.name)).toEqual(['GPU1', 'NIC1']);
    expect(sim.heldBy('flaky-node1').sort()).toEqual([DEVICES.gpu[0], ...DEVICES.smartNic[0]].sort());
    expect(sim.ips('flaky-node1')).toHaveLength(1);
  });

  it('a permanent failure is not retried', async () => {
    const reply = await roundTrip(vmWith('broken', [], { labels: { 'sim.fail_at': 'boot' } }));
    expect(reply).toMatchObject({ outcome: 'FAILED', attempts: 1, failed_step: 'boot_vm (vm_create.yml: boot)' });
    expect(sim.leftovers('broken-node1')).toEqual({ vm: false, bdfs: [], ips: [] });
  });

  it('a create re-run after a crash finishes the half-done one instead of failing', async () => {
    // The crashed attempt: VM booted and the GPU attached, then the process died.
    const { runner } = await testRunner();
    const vars = { sliver_id: 'resume', name: 'node1', worker: 'sim-worker-1', flavor: { core: 2, ram: 8, disk: 10 }, state_dir: amh.stateDir };
    expect((await runner({ playbook: playbooksDir('sim', 'vm_create.yml'), extraVars: vars })).outcome).toBe('ok');
    const half = await runner({ playbook: playbooksDir('sim', 'vm_pci.yml'), extraVars: { ...vars, component_op: 'attach', component: gpu('GPU1', DEVICES.gpu[1]) } });
    expect(half.outcome, half.stderrTail).toBe('ok');
    const ip = sim.vm('resume-node1')?.management_ip;

    const reply = await roundTrip(vmWith('resume', [gpu('GPU1', DEVICES.gpu[1]), nvme('NVME1', DEVICES.nvme[1])]));
    expect(reply.outcome, reply.message).toBe('OK');
    expect(reply.sliver).toMatchObject({ management_ip: ip });
    expect(reply.sliver?.components.map((c) => [c.name, c.guest_bdfs])).toEqual([
      ['GPU1', ['0000:07:00.0']],
      ['NVME1', ['0000:08:00.0']],
    ]);
    expect(sim.heldBy('resume-node1').sort()).toEqual([DEVICES.nvme[1], DEVICES.gpu[1]].sort());
  });
});
