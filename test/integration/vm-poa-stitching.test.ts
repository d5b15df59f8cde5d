import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SliverResult } from '../../src/codec/types.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { DEVICES, SimState, gpu, poaEvent, smartNic, vmWith } from '../helpers/sim.js';

// The VM side of stitching (a port carrying a network service's VLAN) and
// every POA operation, on the real broker and real ansible-playbook.
describe('VM stitching and POA', () => {
  let amh: TestService;
  let sim: SimState;
  let seen = 0;
  async function roundTrip(event: Record<string, unknown>): Promise<SliverResult> {
    await amh.send(event);
    seen += 1;
    const reply = (await amh.replies(seen))[seen - 1];
    expect(reply?.event_id).toBe(event.event_id);
    return reply!;
  }
  const info = (r: SliverResult): Record<string, unknown> => JSON.parse(r.poa?.info_json ?? 'null') as Record<string, unknown>;

  beforeAll(async () => {
    amh = await startTestService({ handlers: { vm: { runtime: { retry_delay: '0s' } } } });
    sim = new SimState(amh.stateDir);
  });

  afterAll(async () => {
    await amh?.stop();
  });

  it('a redeem whose SmartNIC port carries VLAN 1234 puts the VM interface on VLAN 1234', async () => {
    // What the network service assigned (its reply) and the Orchestrator handed on.
    const port = { vlan: 1234, device: 'sim-switch-1', port: 'HundredGigE0/0/0/5', mac: '0C:42:A1:01:41:00', ipv4: '10.100.0.1/24', auto_config: true };
    const reply = await roundTrip(vmWith('stitch-a', [gpu(), smartNic('NIC1', port)]));
    expect(reply.outcome, reply.message).toBe('OK');
    expect(reply.sliver?.components[1]?.interfaces[0]).toMatchObject({
      name: 'NIC1-p1', vlan: 1234, device: 'sim-switch-1', port: 'HundredGigE0/0/0/5', mac: '0c:42:a1:01:41:00',
      guest_interface: 'eth1', ipv4: '10.100.0.1/24', labels: { configured_interface: 'eth1.1234' },
    });
    expect(sim.component('stitch-a-node1', 'NIC1')?.interfaces).toContainEqual(
      expect.objectContaining({ name: 'NIC1-p1', vlan: 1234, configured_interface: 'eth1.1234', ipv4: '10.100.0.1/24', port: 'HundredGigE0/0/0/5' }),
    );
  });

  it('a modify that hands a VLAN to an existing port reconfigures it on that VLAN', async () => {
    const plain = [smartNic('NIC1', {}, 1)];
    expect((await roundTrip(vmWith('stitch-b', plain))).outcome).toBe('OK');
    const stitched = [smartNic('NIC1', { vlan: 1234, device: 'sim-switch-1', port: 'HundredGigE0/0/0/6' }, 1)];
    const reply = await roundTrip(vmWith('stitch-b', stitched, { operation: 'MODIFY', sequence: 2, extra: { previous_node_sliver: vmWith('stitch-b', plain).node_sliver } }));
    expect(reply.outcome, reply.message).toBe('OK');
    expect(reply.message).toContain('configured NIC1');
    expect(sim.component('stitch-b-node1', 'NIC1')?.interfaces).toContainEqual(
      expect.objectContaining({ name: 'NIC1-p1', vlan: 1234, device: 'sim-switch-1', bdf: DEVICES.smartNic[1][0] }),
    );
  });

  it('answers every POA operation OK with its info, and the substrate records it', async () => {
    const id = 'stitch-a';
    const instance = 'stitch-a-node1';

    const cpu = await roundTrip(poaEvent(id, 'cpuinfo'));
    expect(cpu.poa).toMatchObject({ operation: 'cpuinfo', code: 0 });
    expect(info(cpu)).toMatchObject({ host: { cores: 64, numa_nodes: 2 }, vcpus: [{ vcpu: 0, cpu_affinity: '0-63' }, { vcpu: 1 }] });

    const numa = await roundTrip(poaEvent(id, 'numainfo'));
    expect(info(numa)).toMatchObject({ host: { nodes: [{ node: 0, cpus: '0-31' }, { node: 1, cpus: '32-63' }] }, vm: { memory_gb: 8, placement_gb: { 0: 4, 1: 4 } } });

    const pin = await roundTrip(poaEvent(id, 'cpupin', { vcpu_cpu_map: [{ vcpu: 0, cpu: 2 }, { vcpu: 1, cpu: 3 }] }));
    expect(info(pin)).toEqual({ vcpu_pins: [{ vcpu: 0, cpu: 2 }, { vcpu: 1, cpu: 3 }] });
    expect(sim.vm(instance)?.cpu_pins).toEqual({ 0: 2, 1: 3 });

    const tune = await roundTrip(poaEvent(id, 'numatune', { node_set: ['0'] }));
    expect(info(tune)).toEqual({ node_set: [0], placement_gb: { 0: 8 } });
    expect(sim.vm(instance)?.numa_node_set).toEqual([0]);

    const reboot = await roundTrip(poaEvent(id, 'reboot'));
    expect(info(reboot)).toMatchObject({ state: 'ACTIVE', reboots: 2 }); // one after the create's attach

    const key = { key: 'ssh-ed25519 AAAAC3Nza extra', comment: 'extra' };
    expect(info(await roundTrip(poaEvent(id, 'addkey', { keys: [key] })))).toEqual({ ssh_key_count: 2, keys_changed: true });
    expect(info(await roundTrip(poaEvent(id, 'removekey', { keys: [key] })))).toEqual({ ssh_key_count: 1, keys_changed: true });

    const rescan = await roundTrip(poaEvent(id, 'rescan', { bdfs: [DEVICES.gpu[0]] }));
    expect(info(rescan)).toEqual({ rescanned: [{ bdf: DEVICES.gpu[0], guest_bdf: '0000:07:00.0', component: 'GPU1' }] });

    for (const r of [cpu, numa, pin, tune, reboot, rescan]) expect(r.outcome, r.message).toBe('OK');
  });

  it('a POA the substrate refuses is FAILED naming the operation', async () => {
    const reply = await roundTrip(poaEvent('stitch-a', 'numatune', { node_set: ['7'] }));
    expect(reply).toMatchObject({ outcome: 'FAILED', failed_step: 'poa numatune (vm_poa.yml: poa)' });
    expect(reply.message).toContain('NUMA node(s) [7] do not exist on sim-worker-1');
  });
});
