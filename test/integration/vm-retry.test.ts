import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { DEVICES, SimState, gpu, smartNic, vmWith } from '../helpers/sim.js';

// A transient substrate failure (retriable: true in the task result) inside a
// create: the handler rolls back, the executor retries in place, the retry
// builds the VM from scratch and answers OK, reporting the attempts.
describe('VM create with a transient failure', () => {
  let amh: TestService;
  let sim: SimState;

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
    await amh.send(vmWith('flaky', [gpu(), flaky]));
    const [reply] = await amh.replies(1);
    expect(reply).toMatchObject({ outcome: 'OK', attempts: 2 });
    expect(reply?.sliver?.components.map((c) => c.name)).toEqual(['GPU1', 'NIC1']);
    expect(sim.heldBy('flaky-node1').sort()).toEqual([DEVICES.gpu[0], ...DEVICES.smartNic[0]].sort());
    expect(sim.ips('flaky-node1')).toHaveLength(1);
  });

  it('a permanent failure is not retried', async () => {
    await amh.send(vmWith('broken', [], { labels: { 'sim.fail_at': 'boot' } }));
    const reply = (await amh.replies(2))[1];
    expect(reply).toMatchObject({ outcome: 'FAILED', attempts: 1, failed_step: 'boot_vm (vm_create.yml: boot)' });
    expect(sim.leftovers('broken-node1')).toEqual({ vm: false, bdfs: [], ips: [] });
  });
});
