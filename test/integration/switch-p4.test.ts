import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimNetworkService, switchEvent, switchFollowUp, type SimNetworkService } from '../helpers/sim-network.js';

// P4 switches on the sim substrate (real broker, real ansible-playbook): a
// Switch sliver takes a whole switch, gets a management address and its ports.
describe('P4 switch', () => {
  let amh: SimNetworkService;
  const redeem = switchEvent({}, { sliver_id: 'p4-a' });
  const instance = 'p4-a-p4';

  beforeAll(async () => {
    amh = await startSimNetworkService();
  });

  afterAll(async () => {
    await amh?.stop();
  });

  it('creates it: OK with the management address and its ports, recorded in the substrate', async () => {
    const [created] = await amh.roundTrip(redeem);
    expect(created).toMatchObject({
      outcome: 'OK',
      handler: 'switch',
      sliver: { instance_name: instance, worker: 'sim-p4-1', observed: 'EXISTS', labels: { switch: 'sim-p4-1' } },
    });
    expect(created?.sliver?.management_ip).toMatch(/^10\.20\.\d+\.\d+$/);
    expect(created?.sliver?.interfaces).toEqual([
      expect.objectContaining({ name: 'p1', device: 'sim-p4-1', port: '1/0', vlan: 100, labels: { state: 'UP' } }),
      expect.objectContaining({ name: 'p2', device: 'sim-p4-1', port: '2/0', vlan: null }),
    ]);
    expect(amh.substrate.p4(instance)).toMatchObject({ state: 'ACTIVE', device: 'sim-p4-1', ssh_key_count: 1, management_ip: created?.sliver?.management_ip });
  });

  it('probes it: EXISTS', async () => {
    const [probed] = await amh.roundTrip(switchFollowUp(redeem, 'PROBE', 2));
    expect(probed).toMatchObject({ outcome: 'OK', sliver: { observed: 'EXISTS', instance_name: instance } });
    expect(probed?.sliver?.details).toMatch(/P4 switch sim-p4-1 is ACTIVE at 10\.20\..* with 2 port\(s\) up/);
  });

  it('fails a second sliver on the same switch with the reason, leaving nothing behind', async () => {
    const other = switchEvent({}, { sliver_id: 'p4-b' });
    const [busy] = await amh.roundTrip(other);
    expect(busy).toMatchObject({ outcome: 'FAILED', failed_step: 'switch_create.yml: validate' });
    expect(busy?.message).toMatch(/P4 switch sim-p4-1 is in use by p4-a-p4 \(sliver p4-a\)/);
    expect(amh.substrate.p4('p4-b-p4')).toBeUndefined();
    expect(amh.substrate.addressesOf('switch/p4-b-p4')).toEqual([]);
  });

  it('rejects a modify (the reference has none for switches) without running anything', async () => {
    const [rejected] = await amh.roundTrip(switchFollowUp(redeem, 'MODIFY', 3));
    expect(rejected).toMatchObject({ outcome: 'REJECTED', host_stats: [] });
    expect(rejected?.message).toMatch(/does not support MODIFY of Switch; supported: REDEEM, CLOSE, PROBE/);
  });

  it('deletes it (switch and address freed), deletes it again (OK), then probes MISSING', async () => {
    const [closed, again, probed] = await amh.roundTrip(
      switchFollowUp(redeem, 'CLOSE', 4),
      switchFollowUp(redeem, 'CLOSE', 5),
      switchFollowUp(redeem, 'PROBE', 6),
    );
    expect(closed).toMatchObject({ outcome: 'OK', message: `P4 switch ${instance} deleted`, sliver: { observed: 'MISSING' } });
    expect(again).toMatchObject({ outcome: 'OK', message: `P4 switch ${instance} was already gone` });
    expect(probed).toMatchObject({ outcome: 'OK', sliver: { observed: 'MISSING' } });
    expect(amh.substrate.p4(instance)).toBeUndefined();
    expect(amh.substrate.addressesOf(`switch/${instance}`)).toEqual([]);
  });

  it('fails at an injected step, naming it, and cleans up the claim and the address', async () => {
    const event = switchEvent({ worker: 'sim-p4-2', labels: { 'sim.fail_at': 'configure' } }, { sliver_id: 'p4-c' });
    const [failed] = await amh.roundTrip(event);
    expect(failed).toMatchObject({ outcome: 'FAILED', failed_step: 'switch_create.yml: configure' });
    expect(failed?.message).toMatch(/injected failure at configure.*everything created so far was removed/);
    expect(amh.substrate.p4('p4-c-p4')).toBeUndefined();
    expect(amh.substrate.addressesOf('switch/p4-c-p4')).toEqual([]);
  });
});
