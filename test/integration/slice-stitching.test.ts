import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InterfaceState } from '../../src/codec/types.js';
import { SimState, gpu, smartNic, vmWith } from '../helpers/sim.js';
import { followUp, netEvent, port, startSimNetworkService, type SimNetworkService } from '../helpers/sim-network.js';

// One slice as the Orchestrator builds it: two VMs with a GPU and a SmartNIC
// each, and an L2PTP between their SmartNIC ports. The L2PTP's reply says what
// each end got (VLAN, device, port, MAC); the Orchestrator hands that to each
// VM's SmartNIC port in its redeem, and the VM's interface lands on the
// service's VLAN. Real broker, real ansible-playbook, one sim substrate.
describe('a stitched slice: two VMs and an L2PTP between their SmartNICs', () => {
  let amh: SimNetworkService;
  let sim: SimState;
  // The NIC port MACs the AM knows from its resource model, one per VM.
  const vms = [
    { sliver: 'slice-vm1', worker: 'sim-worker-1', mac: '0c:42:a1:5e:00:01', switchPort: { device: 'sim-sw-1', port: port(5), vlan: null } },
    // This end asks for a VLAN of its own (the other is assigned), so the two ends differ.
    { sliver: 'slice-vm2', worker: 'sim-worker-2', mac: '0c:42:a1:5e:00:02', switchPort: { device: 'sim-sw-2', port: port(6), vlan: 1501 } },
  ];
  const l2ptp = netEvent(
    'L2PTP',
    {
      name: 'vm1-vm2',
      interfaces: vms.map((vm, i) => ({ name: `${vm.sliver}-nic`, site: `SIM${i + 1}`, mac: vm.mac, ...vm.switchPort })),
    },
    { sliver_id: 'slice-l2ptp', slice_id: 'slice-stitched' },
  );
  let stitching: InterfaceState[] = [];

  beforeAll(async () => {
    amh = await startSimNetworkService({ handlers: { vm: { runtime: { retry_delay: '0s' } } } });
    sim = new SimState(amh.stateDir);
  });

  afterAll(async () => {
    await amh?.stop();
  });

  it('the L2PTP replies with the stitching information of each end', async () => {
    const [created] = await amh.roundTrip(l2ptp);
    expect(created?.outcome, created?.message).toBe('OK');
    stitching = created?.sliver?.interfaces ?? [];
    expect(stitching).toEqual([
      expect.objectContaining({ name: 'slice-vm1-nic', device: 'sim-sw-1', port: port(5), vlan: 100, mac: vms[0]?.mac }),
      expect.objectContaining({ name: 'slice-vm2-nic', device: 'sim-sw-2', port: port(6), vlan: 1501, mac: vms[1]?.mac }),
    ]);
  });

  it("each VM's redeem carries its end on the SmartNIC port, and the VM interface lands on that VLAN", async () => {
    const redeems = vms.map((vm, i) => {
      const end = stitching[i] as InterfaceState;
      const nic = smartNic('NIC1', { vlan: end.vlan ?? undefined, device: end.device ?? undefined, port: end.port ?? undefined, mac: end.mac ?? undefined, ipv4: `192.168.50.${i + 1}/24`, auto_config: true });
      const event = vmWith(vm.sliver, [gpu(), { ...nic, macs: [vm.mac, vm.mac.replace(/.$/, 'f')] }], { extra: { slice_id: 'slice-stitched' } });
      return { ...event, node_sliver: { ...(event.node_sliver as object), worker: vm.worker } };
    });
    const replies = await amh.roundTrip(...redeems);
    replies.forEach((reply, i) => {
      const end = stitching[i] as InterfaceState;
      expect(reply.outcome, reply.message).toBe('OK');
      const nic = reply.sliver?.components.find((c) => c.name === 'NIC1');
      expect(nic?.interfaces[0]).toMatchObject({ vlan: end.vlan, device: end.device, port: end.port, mac: end.mac });
      // The substrate: the VM's SmartNIC port is on the service's VLAN, as a sub-interface.
      const inGuest = sim.component(`${vms[i]?.sliver}-node1`, 'NIC1')?.interfaces as Record<string, unknown>[] | undefined;
      expect(inGuest?.[0]).toMatchObject({ vlan: end.vlan, device: end.device, port: end.port, configured_interface: expect.stringMatching(new RegExp(`\\.${end.vlan}$`)) });
      // ...and the switch side of the same port carries that VLAN for the service.
      expect(amh.substrate.vlansOn(end.device ?? '', end.port ?? '')).toEqual({ [String(end.vlan)]: 'net/vm1-vm2-slice-l2ptp' });
    });
  });

  it('closing the slice leaves the substrate clean', async () => {
    const closes = [followUp(l2ptp, 'CLOSE', 2), ...vms.map((vm) => vmWith(vm.sliver, [], { operation: 'CLOSE', sequence: 2 }))];
    const replies = await amh.roundTrip(...closes);
    for (const reply of replies) expect(reply.outcome, reply.message).toBe('OK');
    expect(amh.substrate.vlansOf('vm1-vm2-slice-l2ptp')).toEqual([]);
    for (const vm of vms) expect(sim.leftovers(`${vm.sliver}-node1`)).toEqual({ vm: false, bdfs: [], ips: [] });
  });
});
