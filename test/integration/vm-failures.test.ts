import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { DEVICES, SimState, gpu, poaEvent, smartNic, vmWith } from '../helpers/sim.js';

// What goes wrong, on the real broker and real ansible-playbook: every failure
// is reported with its step, and nothing is left behind in the substrate.
describe('VM failures', () => {
  let amh: TestService;
  let sim: SimState;
  let seen = 0;
  /** Sends one event and returns its reply. */
  async function roundTrip(event: Record<string, unknown>) {
    await amh.send(event);
    seen += 1;
    const reply = (await amh.replies(seen))[seen - 1];
    expect(reply?.event_id).toBe(event.event_id);
    return reply!;
  }

  beforeAll(async () => {
    amh = await startTestService({ handlers: { vm: { runtime: { retry_delay: '0s' } } } });
    sim = new SimState(amh.stateDir);
  });

  afterAll(async () => {
    await amh?.stop();
  });

  it('an injected failure at a component attach is FAILED naming the step, and nothing is left', async () => {
    const failing = { ...smartNic('NIC1', {}, 1), labels: { 'sim.fail_at': 'attach_pci' } };
    const reply = await roundTrip(vmWith('fail-attach', [gpu('GPU1', DEVICES.gpu[1]), failing]));
    expect(reply).toMatchObject({ outcome: 'FAILED', result_code: -1, failed_step: 'attach_component NIC1 (vm_pci.yml: attach_pci)' });
    expect(reply.message).toContain('injected failure at attach_pci');
    expect(reply.message).toContain('rolled back: detached GPU1; deleted VM');
    expect(sim.leftovers('fail-attach-node1')).toEqual({ vm: false, bdfs: [], ips: [] });
    expect(sim.holder(DEVICES.gpu[1])).toBeUndefined();
  });

  it('a BDF already attached to another VM is FAILED with a clear reason; the other VM keeps it', async () => {
    expect((await roundTrip(vmWith('owner', [gpu()]))).outcome).toBe('OK');
    const reply = await roundTrip(vmWith('thief', [gpu()]));
    expect(reply).toMatchObject({ outcome: 'FAILED', failed_step: 'attach_component GPU1 (vm_pci.yml: attach_pci)' });
    expect(reply.message).toContain(`PCI device ${DEVICES.gpu[0]} on sim-worker-1 is already attached to VM owner-node1 (sliver owner, component GPU1)`);
    expect(sim.leftovers('thief-node1')).toEqual({ vm: false, bdfs: [], ips: [] });
    expect(sim.holder(DEVICES.gpu[0])).toMatchObject({ instance_name: 'owner-node1' });
  });

  it('a delete whose retries all fail is FAILED (the reference said OK); a transient one is absorbed by the retries', async () => {
    expect((await roundTrip(vmWith('stuck', []))).outcome).toBe('OK');
    const stuck = await roundTrip(vmWith('stuck', [], { operation: 'CLOSE', sequence: 2, labels: { 'sim.fail_at': 'destroy' } }));
    expect(stuck).toMatchObject({ outcome: 'FAILED', failed_step: 'delete_vm (vm_delete.yml: destroy)' });
    expect(stuck.message).toContain('injected failure at destroy');
    expect(stuck.message).toContain('delete incomplete');
    expect(sim.vm('stuck-node1')).toBeDefined();

    // Fails twice, then works: within delete_retries (3), so the delete is OK.
    const labels = { 'sim.fail_at': 'destroy', 'sim.fail_mode': 'transient', 'sim.fail_count': '2' };
    const flaky = await roundTrip(vmWith('stuck', [], { operation: 'CLOSE', sequence: 3, labels }));
    expect(flaky.outcome, flaky.message).toBe('OK');
    expect(sim.leftovers('stuck-node1')).toEqual({ vm: false, bdfs: [], ips: [] });
  });

  it('deleting what never existed is OK, twice', async () => {
    for (const sequence of [1, 2]) {
      const reply = await roundTrip(vmWith('never', [gpu()], { operation: 'CLOSE', sequence }));
      expect(reply).toMatchObject({ outcome: 'OK', message: 'VM never-node1 was already gone' });
    }
  });

  it('an unknown POA operation is REJECTED and nothing runs', async () => {
    const reply = await roundTrip(poaEvent('owner', 'wipe_everything'));
    expect(reply).toMatchObject({
      outcome: 'REJECTED',
      result_code: -2,
      error_code: 'VALIDATION',
      poa: { operation: 'wipe_everything', code: -2, info_json: null },
      host_stats: [],
    });
    expect(reply.message).toContain("unknown POA operation 'wipe_everything'");
    expect(sim.vm('owner-node1')).toMatchObject({ state: 'ACTIVE' });
  });
});
