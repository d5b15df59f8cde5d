import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followUp, netEvent, port, startSimNetworkService, type SimNetworkService } from '../helpers/sim-network.js';

// One L2PTP through its whole life on the sim substrate (real broker, real
// ansible-playbook), then the ways it can go wrong.
describe('L2PTP network service', () => {
  let amh: SimNetworkService;
  const epA = { name: 'ep-a', site: 'SIM1', device: 'sim-sw-1', port: port(5), vlan: null as number | null, mac: '02:00:00:00:0a:01', bandwidth: 10 };
  const epB = { name: 'ep-b', site: 'SIM2', device: 'sim-sw-2', port: port(6), vlan: 300 as number | null, mac: '02:00:00:00:0b:01', bandwidth: 10 };
  const endpoints = [epA, epB];
  const redeem = netEvent('L2PTP', { name: 'ptp', interfaces: endpoints }, { sliver_id: 'ptp-1' });
  const name = 'ptp-ptp-1'; // {name[:16]}-{sliver_id}

  beforeAll(async () => {
    amh = await startSimNetworkService();
  });

  afterAll(async () => {
    await amh?.stop();
  });

  it('creates it, assigns the VLAN left open, and replies with what each interface got (stitching info)', async () => {
    const [created] = await amh.roundTrip(redeem);
    expect(created).toMatchObject({ outcome: 'OK', result_code: 0, handler: 'network', sequence: 1 });
    expect(created?.sliver?.interfaces).toEqual([
      expect.objectContaining({ name: 'ep-a', device: 'sim-sw-1', port: port(5), vlan: 100, mac: '02:00:00:00:0a:01', labels: { site: 'SIM1', vlan_source: 'assigned' } }),
      expect.objectContaining({ name: 'ep-b', device: 'sim-sw-2', port: port(6), vlan: 300, mac: '02:00:00:00:0b:01', labels: { site: 'SIM2', vlan_source: 'requested' } }),
    ]);
    expect(created?.sliver).toMatchObject({ instance_name: name, observed: 'EXISTS', labels: { service_name: name, service_type: 'L2PTP' } });
    expect(amh.substrate.service(name)).toMatchObject({ state: 'ACTIVE', sliver_id: 'ptp-1', type: 'L2PTP' });
    expect(amh.substrate.vlansOn('sim-sw-1', port(5))).toEqual({ 100: `net/${name}` });
    expect(amh.substrate.vlansOn('sim-sw-2', port(6))).toEqual({ 300: `net/${name}` });

    // What the Orchestrator reads: the Avro reply on the topic carries the same.
    const [onWire] = await amh.replies(1);
    expect(onWire?.sliver?.interfaces.map((i) => [i.name, i.vlan])).toEqual([['ep-a', 100], ['ep-b', 300]]);
  });

  it('probes it: EXISTS with details, without changing anything', async () => {
    const [probed] = await amh.roundTrip(followUp(redeem, 'PROBE', 2));
    expect(probed).toMatchObject({ outcome: 'OK', sliver: { observed: 'EXISTS', instance_name: name } });
    expect(probed?.sliver?.details).toMatch(/L2PTP ptp-ptp-1 is ACTIVE on 2 interface/);
    expect(probed?.sliver?.interfaces.map((i) => i.vlan)).toEqual([100, 300]);
  });

  it('modifies it as delete-then-create: the substrate moves to the new VLAN and frees the old one', async () => {
    const moved = [epA, { ...epB, vlan: 301, bandwidth: 25 }];
    const [modified] = await amh.roundTrip(followUp(redeem, 'MODIFY', 3, { interfaces: moved }));
    expect(modified).toMatchObject({ outcome: 'OK', sliver: { observed: 'EXISTS' } });
    expect(modified?.message).toMatch(/re-created with changed interfaces, capacities/);
    expect(amh.substrate.vlansOn('sim-sw-2', port(6))).toEqual({ 301: `net/${name}` });
    expect(amh.substrate.service(name)).toMatchObject({ interfaces: [expect.anything(), expect.objectContaining({ vlan: 301, bandwidth: 25 })] });
  });

  it('answers a modify that changes nothing OK without running a playbook', async () => {
    const [same] = await amh.roundTrip(followUp(redeem, 'MODIFY', 4, {}));
    expect(same).toMatchObject({ outcome: 'OK', host_stats: [] });
    expect(same?.message).toMatch(/nothing to do/);
  });

  it('rejects a modify that changes the type', async () => {
    const [rejected] = await amh.roundTrip({ ...followUp(redeem, 'MODIFY', 5, { type: 'L2STS' }), resource_type: 'L2STS' });
    expect(rejected).toMatchObject({ outcome: 'REJECTED', result_code: -2, host_stats: [] });
    expect(rejected?.message).toMatch(/cannot change the service type \(L2PTP -> L2STS\)/);
  });

  it('probes DEGRADED once a VLAN vanished from the switch', async () => {
    amh.substrate.dropVlan('sim-sw-2', port(6), 301);
    const [probed] = await amh.roundTrip(followUp(redeem, 'PROBE', 6));
    expect(probed).toMatchObject({ outcome: 'OK', sliver: { observed: 'DEGRADED' } });
    expect(probed?.sliver?.details).toMatch(/ep-b: VLAN 301 on sim-sw-2 HundredGigE0\/0\/0\/6 is not held by the service/);
  });

  it('deletes it (substrate clean), deletes it again (OK, already gone), then probes MISSING', async () => {
    const [closed, again, probed] = await amh.roundTrip(followUp(redeem, 'CLOSE', 7), followUp(redeem, 'CLOSE', 8), followUp(redeem, 'PROBE', 9));
    expect(closed).toMatchObject({ outcome: 'OK', message: `L2PTP ${name} deleted`, sliver: { observed: 'MISSING' } });
    expect(again).toMatchObject({ outcome: 'OK', message: `L2PTP ${name} was already gone` });
    expect(probed).toMatchObject({ outcome: 'OK', sliver: { observed: 'MISSING' } });
    expect(amh.substrate.service(name)).toBeUndefined();
    expect(amh.substrate.vlansOf(name)).toEqual([]);
  });

  it('rejects an L2PTP with one interface before any playbook runs', async () => {
    const bad = netEvent('L2PTP', { interfaces: [epA] }, { sliver_id: 'ptp-bad' });
    const [rejected] = await amh.roundTrip(bad);
    expect(rejected).toMatchObject({ outcome: 'REJECTED', result_code: -2, error_code: 'VALIDATION', host_stats: [], failed_step: null });
    expect(rejected?.message).toBe('L2PTP: needs exactly 2 interfaces, got 1');
    expect(amh.substrate.vlansOn('sim-sw-1', port(5))).toEqual({});
  });

  it('fails a VLAN already used on the port with the reason, and leaves nothing behind', async () => {
    const first = netEvent('L2PTP', { interfaces: [{ ...epA, port: port(10), vlan: 500 }, { ...epB, port: port(11), vlan: 500 }] });
    const second = netEvent('L2PTP', { interfaces: [{ ...epA, port: port(12), vlan: 500 }, { ...epB, port: port(11), vlan: 500 }] });
    const [ok] = await amh.roundTrip(first);
    const [clash] = await amh.roundTrip(second);
    expect(ok?.outcome).toBe('OK');
    expect(clash).toMatchObject({ outcome: 'FAILED', result_code: -1, failed_step: 'net_create.yml: validate' });
    expect(clash?.message).toMatch(/VLAN 500 on sim-sw-2 HundredGigE0\/0\/0\/11 is in use by net\/l2ptp1-net-/);
    expect(amh.substrate.vlansOn('sim-sw-1', port(12))).toEqual({});
    expect(amh.substrate.service(`l2ptp1-${String(second.sliver_id)}`)).toBeUndefined();
  });

  it('fails at an injected step, naming it, and cleans up everything created so far', async () => {
    const event = netEvent('L2PTP', { interfaces: [{ ...epA, port: port(20) }, { ...epB, port: port(21) }], labels: { 'sim.fail_at': 'configure' } });
    const [failed] = await amh.roundTrip(event);
    expect(failed).toMatchObject({ outcome: 'FAILED', failed_step: 'net_create.yml: configure' });
    expect(failed?.message).toMatch(/injected failure at configure.*everything created so far was removed/);
    const svc = `l2ptp1-${String(event.sliver_id)}`;
    expect(amh.substrate.service(svc)).toBeUndefined();
    expect(amh.substrate.vlansOf(svc)).toEqual([]);
  });

  it('reports a delete whose retries all failed as FAILED (the reference said OK), and a later delete succeeds', async () => {
    const event = netEvent('L2PTP', { interfaces: [{ ...epA, port: port(22) }, { ...epB, port: port(23) }] });
    const stuck = { ...followUp(event, 'CLOSE', 2), network_sliver: { ...(event.network_sliver as object), labels: { 'sim.fail_at': 'remove' } } };
    // One at a time: a CLOSE arriving while the create runs would cancel the create (supersession).
    const [created] = await amh.roundTrip(event);
    expect(created?.outcome).toBe('OK');
    const [failed, closed] = await amh.roundTrip(stuck, followUp(event, 'CLOSE', 3));
    expect(failed).toMatchObject({ outcome: 'FAILED', failed_step: 'net_delete.yml: remove' });
    expect(failed?.message).toMatch(/injected failure at remove/);
    expect(closed).toMatchObject({ outcome: 'OK', message: expect.stringMatching(/deleted$/) });
  });
});
