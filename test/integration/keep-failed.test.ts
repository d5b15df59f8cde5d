import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICES, SimState, gpu, nvme, smartNic, vmWith } from '../helpers/sim.js';
import { followUp, netEvent, port, startSimNetworkService, type SimNetworkService } from '../helpers/sim-network.js';

// keep_failed on (vm and network), on the real broker and real ansible-playbook:
// a failed create is left in place, marked failed, its FAILED reply says so,
// and a later CLOSE removes it as usual (the NVME still wiped).
describe('keep_failed', () => {
  let amh: SimNetworkService;
  let sim: SimState;

  beforeAll(async () => {
    amh = await startSimNetworkService({
      handlers: {
        vm: { keep_failed: true, runtime: { retry_delay: '0s' } },
        network: { keep_failed: true },
      },
    });
    sim = new SimState(amh.substrate.dir);
  });

  afterAll(async () => {
    await amh?.stop();
  });

  it('a VM whose create fails at a component stays, marked failed, with what it got; a CLOSE removes it and wipes the NVME', async () => {
    const failing = { ...smartNic('NIC1', {}, 1), labels: { 'sim.fail_at': 'attach_pci' } };
    const redeem = vmWith('kept', [gpu('GPU1', DEVICES.gpu[1]), nvme('NVME1', DEVICES.nvme[3]), failing]);
    const [reply] = await amh.roundTrip(redeem);
    expect(reply).toMatchObject({ outcome: 'FAILED', failed_step: 'attach_component NIC1 (vm_pci.yml: attach_pci)' });
    expect(reply?.message).toContain('injected failure at attach_pci');
    expect(reply?.message).toContain('kept for diagnosis (keep_failed): VM kept-node1 left in place on sim-worker-1, marked failed');
    expect(reply?.message).not.toContain('rolled back');
    expect(reply?.sliver).toMatchObject({ instance_name: 'kept-node1', worker: 'sim-worker-1', observed: 'DEGRADED', labels: { kept_for_diagnosis: 'true' } });
    expect(reply?.sliver?.management_ip).toMatch(/^10\.20\./);
    expect(reply?.sliver?.components.map((c) => c.name).sort()).toEqual(['GPU1', 'NVME1']);

    expect(sim.vm('kept-node1')).toMatchObject({ failed: true, kept_for_diagnosis: { failed_step: 'attach_component NIC1 (vm_pci.yml: attach_pci)' } });
    expect(sim.holder(DEVICES.gpu[1])).toMatchObject({ instance_name: 'kept-node1' });
    expect(sim.holder(DEVICES.nvme[3])).toMatchObject({ instance_name: 'kept-node1' });

    const [probe] = await amh.roundTrip(vmWith('kept', [], { operation: 'PROBE', sequence: 2 }));
    expect(probe?.sliver).toMatchObject({ observed: 'DEGRADED' });
    expect(probe?.sliver?.details).toContain('kept for diagnosis after a failed create');

    const [close] = await amh.roundTrip(vmWith('kept', [], { operation: 'CLOSE', sequence: 3 }));
    expect(close?.outcome, close?.message).toBe('OK');
    expect(close?.message).toContain(`wiped NVME1 (${DEVICES.nvme[3]})`);
    expect(sim.leftovers('kept-node1')).toEqual({ vm: false, bdfs: [], ips: [] });
    expect(sim.lastWipe(DEVICES.nvme[3])).toMatchObject({ instance_name: 'kept-node1', sliver_id: 'kept' });
    expect(sim.freeOnlyIfWiped(DEVICES.nvme[3], 'kept-node1')).toBe(true);
  });

  it('a create re-run of a kept VM clears the mark', async () => {
    const failing = { ...gpu('GPU2', DEVICES.gpu[0]), labels: { 'sim.fail_at': 'attach_pci' } };
    const [first] = await amh.roundTrip(vmWith('again', [failing]));
    expect(first?.outcome).toBe('FAILED');
    expect(sim.vm('again-node1')).toMatchObject({ failed: true });
    const [second] = await amh.roundTrip({ ...vmWith('again', [gpu('GPU2', DEVICES.gpu[0])]), sequence: 2 });
    expect(second?.outcome, second?.message).toBe('OK');
    expect(sim.vm('again-node1')).not.toHaveProperty('failed');
    expect(sim.vm('again-node1')).not.toHaveProperty('kept_for_diagnosis');
    const [close] = await amh.roundTrip(vmWith('again', [], { operation: 'CLOSE', sequence: 3 }));
    expect(close?.outcome).toBe('OK');
  });

  it('an L2PTP whose configure fails keeps its VLANs and record, marked failed; a CLOSE frees them', async () => {
    const sliverId = `keep-${randomUUID().slice(0, 8)}`;
    const redeem = netEvent(
      'L2PTP',
      { interfaces: [
          { name: 'a', site: 'SIM1', device: 'sim-sw-1', port: port(21), vlan: 2101 },
          { name: 'b', site: 'SIM2', device: 'sim-sw-2', port: port(21), vlan: 2102 },
        ], labels: { 'sim.fail_at': 'configure' } },
      { sliver_id: sliverId },
    );
    const name = `l2ptp1-${sliverId}`;
    const [reply] = await amh.roundTrip(redeem);
    expect(reply).toMatchObject({ outcome: 'FAILED' });
    expect(reply?.message).toContain('injected failure at configure');
    expect(reply?.message).toContain(`kept for diagnosis (keep_failed): service ${name} left in place (RESERVED), marked failed`);
    expect(reply?.sliver).toMatchObject({ instance_name: name, observed: 'DEGRADED', labels: { kept_for_diagnosis: 'true' } });
    expect(reply?.sliver?.interfaces.map((i) => i.vlan)).toEqual([2101, 2102]);
    expect(amh.substrate.service(name)).toMatchObject({ failed: true, state: 'RESERVED' });
    expect(amh.substrate.vlansOf(name).sort()).toEqual(['sim-sw-1 HundredGigE0/0/0/21 2101', 'sim-sw-2 HundredGigE0/0/0/21 2102']);

    const [close] = await amh.roundTrip(followUp(redeem, 'CLOSE', 2));
    expect(close?.outcome, close?.message).toBe('OK');
    expect(amh.substrate.service(name)).toBeUndefined();
    expect(amh.substrate.vlansOf(name)).toEqual([]);
  });
});
