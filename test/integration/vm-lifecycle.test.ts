import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { DEVICES, SimState, fpga, gpu, nvme, smartNic, storage, vmWith } from '../helpers/sim.js';

// One VM through its whole life on the sim substrate: real broker, real ansible-playbook.
describe('VM lifecycle with components', () => {
  let amh: TestService;
  let sim: SimState;
  const id = 'life-1';
  const instance = 'life-1-node1';
  const nic = smartNic('NIC1', { ipv4: '192.168.10.2/24', ipv6: 'fd00:10::2', auto_config: true });
  const created = [gpu(), nic, nvme(), storage('data1', { volume: 'scratch' })];

  beforeAll(async () => {
    amh = await startTestService({ handlers: { vm: { runtime: { retry_delay: '0s' } } } });
    sim = new SimState(amh.stateDir);
  });

  afterAll(async () => {
    await amh?.stop();
  });

  it('creates a VM with a GPU, a SmartNIC, an NVME and a volume: assignments in the reply and in the substrate', async () => {
    await amh.send(vmWith(id, created));
    const [reply] = await amh.replies(1);
    expect(reply?.outcome, reply?.message).toBe('OK');
    expect(reply?.sliver).toMatchObject({ instance_name: instance, worker: 'sim-worker-1', observed: 'EXISTS' });
    expect(reply?.sliver?.management_ip).toMatch(/^10\.20\./);
    const [g, n, d, s] = reply?.sliver?.components ?? [];
    expect(g).toMatchObject({ name: 'GPU1', type: 'GPU', bdfs: [DEVICES.gpu[0]], guest_bdfs: ['0000:07:00.0'] });
    expect(n).toMatchObject({ name: 'NIC1', bdfs: [...DEVICES.smartNic[0]], guest_bdfs: ['0000:08:00.0', '0000:09:00.0'] });
    expect(n?.interfaces[0]).toMatchObject({ name: 'NIC1-p1', guest_interface: 'eth1', mac: '0c:42:a1:01:41:00', ipv4: '192.168.10.2/24', ipv6: 'fd00:10::2/64' });
    expect(n?.interfaces[1]).toMatchObject({ name: 'NIC1-p2', guest_interface: 'eth2', ipv4: null });
    expect(d).toMatchObject({ name: 'NVME1', guest_bdfs: ['0000:0a:00.0'], labels: { guest_devices: '/dev/nvme0n1' } });
    expect(s).toMatchObject({ name: 'data1', type: 'Storage', labels: { volume: 'scratch', guest_device: '/dev/vdb', mount_point: '/scratch' } });

    const vm = sim.vm(instance);
    expect(vm).toMatchObject({ state: 'ACTIVE', reboots: 1, post_boot: true, ssh_key_count: 1 });
    for (const bdf of [DEVICES.gpu[0], ...DEVICES.smartNic[0], DEVICES.nvme[0]]) {
      expect(sim.holder(bdf), bdf).toMatchObject({ instance_name: instance, sliver_id: id });
    }
    expect(sim.volume('scratch')).toMatchObject({ attached_to: instance });
    expect(sim.component(instance, 'data1')).toMatchObject({ mount_point: '/scratch' });
    expect(sim.component(instance, 'NIC1')?.interfaces).toEqual([
      expect.objectContaining({ name: 'NIC1-p1', configured_interface: 'eth1', ipv4: '192.168.10.2/24' }),
      expect.objectContaining({ name: 'NIC1-p2', configured_interface: null }),
    ]);
  });

  it('probes EXISTS without changing anything', async () => {
    const before = JSON.stringify(sim.vm(instance));
    await amh.send(vmWith(id, created, { operation: 'PROBE', sequence: 2 }));
    const reply = (await amh.replies(2))[1];
    expect(reply?.sliver).toMatchObject({ observed: 'EXISTS', instance_name: instance });
    expect(reply?.sliver?.details).toMatch(/^ACTIVE on sim-worker-1 at 10\.20\.\d+\.\d+ with /);
    expect(JSON.stringify(sim.vm(instance))).toBe(before);
  });

  it('modify removes the GPU and adds a multi-function FPGA: the substrate reflects the diff', async () => {
    const after = [nic, nvme(), storage('data1', { volume: 'scratch' }), fpga()];
    await amh.send(vmWith(id, after, { operation: 'MODIFY', sequence: 3, extra: { previous_node_sliver: vmWith(id, created).node_sliver } }));
    const reply = (await amh.replies(3))[2];
    expect(reply?.outcome, reply?.message).toBe('OK');
    expect(reply?.message).toContain('detached GPU1; attached FPGA1');
    expect(reply?.sliver?.components.map((c) => c.name)).toEqual(['NIC1', 'NVME1', 'data1', 'FPGA1']);
    // Both functions of the card on one guest slot, the lowest bus the GPU freed.
    expect(reply?.sliver?.components[3]).toMatchObject({ bdfs: [...DEVICES.fpgaMultiFunction], guest_bdfs: ['0000:07:00.0', '0000:07:00.1'] });
    expect(sim.holder(DEVICES.gpu[0])).toBeUndefined();
    expect(sim.holder(DEVICES.fpgaMultiFunction[1])).toMatchObject({ instance_name: instance, component: 'FPGA1' });
    expect(sim.component(instance, 'GPU1')).toBeUndefined();
  });

  it('probes DEGRADED when a device fell off the VM or the VM is not ACTIVE', async () => {
    sim.dropHold(DEVICES.fpgaMultiFunction[0]);
    sim.setVmState(instance, 'SHUTOFF');
    await amh.send(vmWith(id, [fpga(), gpu()], { operation: 'PROBE', sequence: 4 }));
    const reply = (await amh.replies(4))[3];
    expect(reply?.sliver?.observed).toBe('DEGRADED');
    expect(reply?.sliver?.details).toBe(
      `VM state is SHUTOFF, not ACTIVE; FPGA1: ${DEVICES.fpgaMultiFunction[0]} not attached; GPU1 (GPU) is missing`,
    );
  });

  it('delete leaves the substrate clean (no VM, devices free, volume detached, NVME wipe recorded); again is OK', async () => {
    await amh.send(vmWith(id, [], { operation: 'CLOSE', sequence: 5 }));
    const reply = (await amh.replies(5))[4];
    expect(reply?.outcome, reply?.message).toBe('OK');
    expect(reply?.sliver?.observed).toBe('MISSING');
    expect(sim.leftovers(instance)).toEqual({ vm: false, bdfs: [], ips: [] });
    for (const bdf of [...DEVICES.smartNic[0], DEVICES.nvme[0], ...DEVICES.fpgaMultiFunction]) expect(sim.holder(bdf), bdf).toBeUndefined();
    expect(sim.volume('scratch')).toMatchObject({ attached_to: null });
    expect(sim.wipes()).toEqual([expect.objectContaining({ bdf: DEVICES.nvme[0], instance_name: instance, reason: 'delete' })]);

    await amh.send(vmWith(id, [], { operation: 'CLOSE', sequence: 6 }));
    const again = (await amh.replies(6))[5];
    expect(again).toMatchObject({ outcome: 'OK', message: `VM ${instance} was already gone` });
  });

  it('probes MISSING after the delete', async () => {
    await amh.send(vmWith(id, [], { operation: 'PROBE', sequence: 7 }));
    const reply = (await amh.replies(7))[6];
    expect(reply?.sliver).toMatchObject({ observed: 'MISSING', details: `VM ${instance} does not exist` });
  });
});
