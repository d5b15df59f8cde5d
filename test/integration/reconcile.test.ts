import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/config.js';
import { testRunner } from '../helpers/ansible.js';
import { collectMessages, type CollectedMessage } from '../helpers/kafka.js';
import { codec, startTestService, type TestService } from '../helpers/service.js';
import { SimState, gpu, smartNic, vmWith } from '../helpers/sim.js';
import { netEvent, port, startSimNetworkService, type SimNetworkService } from '../helpers/sim-network.js';
import type { DriftReport, SliverResult } from '../../src/codec/types.js';

// Drift detection and repair (issue 10) on the real broker with real ansible-playbook and the sim substrate.
// Intervals of a few seconds: the detection's deadline is a timing window (this file is in the `faults` group).
const INTERVAL_MS = 3_000;
const reconcile = { reconcile: { interval: '3s', share: 0.5 } };

let services: TestService[] = [];
afterEach(async () => {
  await Promise.all(services.map((s) => s.stop()));
  services = [];
});

async function driftReports(topic: string, count: number, timeoutMs = 60_000): Promise<(DriftReport & { headers: CollectedMessage['headers'] })[]> {
  const messages = await collectMessages(topic, { count, timeoutMs });
  return Promise.all(messages.map(async (m) => ({ ...(await codec.decode('drift', m.value)).value, headers: m.headers })));
}

/** Deletes a VM behind the service's back: the sim's own delete playbook, run by hand. */
async function deleteByHand(stateDir: string, sliverId: string): Promise<void> {
  const { runner } = await testRunner();
  const run = await runner({ playbook: `${REPO}/playbooks/sim/vm_delete.yml`, extraVars: { sliver_id: sliverId, name: 'node1', state_dir: stateDir } });
  expect(run.outcome, run.stderrTail).toBe('ok');
}

/** Longest probe seen so far (ms), from the service's own events. */
function probeDurations(amh: TestService): () => number {
  let longest = 0;
  amh.service.events.on('probed', ({ durationMs }) => (longest = Math.max(longest, durationMs)));
  return () => longest;
}

describe('drift detection and repair of a VM', () => {
  it('a VM deleted behind the service is reported as drifted within one interval; with repair off nothing changes', async () => {
    const amh = await startTestService(reconcile);
    services.push(amh);
    const longestProbe = probeDurations(amh);
    const sim = new SimState(amh.stateDir);
    const id = `drift-${randomUUID().slice(0, 6)}`;
    await amh.send(vmWith(id, [gpu()]));
    const [created] = await amh.replies(1);
    expect(created?.outcome, created?.message).toBe('OK');

    await deleteByHand(amh.stateDir, id);
    const deletedAt = Date.now();
    expect(sim.vm(`${id}-node1`)).toBeUndefined();
    const [report] = await driftReports(amh.topics.drift!, 1);
    expect(report).toMatchObject({
      kind: 'DRIFT',
      sliver_id: id,
      slice_id: 'slice-1',
      resource_type: 'VM',
      handler: 'vm',
      observed: 'MISSING',
      applied_event_id: created?.event_id,
      applied_sequence: 1,
      instance: amh.service.instanceId,
      repair: null,
    });
    expect(report?.differences).toEqual([`sliver MISSING: VM ${id}-node1 does not exist`]);
    expect(JSON.parse(report?.expected ?? '{}')).toMatchObject({ instance_name: `${id}-node1`, management_ip: created?.sliver?.management_ip, components: [{ name: 'GPU1', type: 'GPU' }] });
    // Within one interval of the deletion, plus the time the probe itself took.
    expect(Number(report?.detected_at) - deletedAt).toBeLessThanOrEqual(INTERVAL_MS + longestProbe() + 1_000);

    // Repair off: reported again at the next pass, nothing re-created, no reply but the Orchestrator's own.
    const again = await driftReports(amh.topics.drift!, 2);
    expect(again.map((r) => r.repair)).toEqual([null, null]);
    expect(sim.vm(`${id}-node1`)).toBeUndefined();
    const replies = await collectMessages(amh.topics.replies, { count: 1 });
    await expect(collectMessages(amh.topics.replies, { count: 2, timeoutMs: 2 * INTERVAL_MS })).rejects.toThrow();
    expect(replies).toHaveLength(1);
  });

  it('with repair on, a deleted VM is re-created with the same instance name, address and components; a closed sliver is left alone', async () => {
    const amh = await startTestService({ ...reconcile, handlers: { vm: { repair: { missing: true } } } });
    services.push(amh);
    const sim = new SimState(amh.stateDir);
    const id = `repair-${randomUUID().slice(0, 6)}`;
    const instance = `${id}-node1`;
    const redeem = vmWith(id, [gpu(), smartNic('NIC1', { vlan: 120 })]);
    await amh.send(redeem);
    const [created] = await amh.replies(1);
    expect(created?.outcome, created?.message).toBe('OK');
    const before = sim.vm(instance) as Record<string, unknown>;
    const heldBefore = sim.heldBy(instance).sort();

    await deleteByHand(amh.stateDir, id);
    expect(sim.vm(instance)).toBeUndefined();
    expect(sim.heldBy(instance)).toEqual([]);

    const [detected, repaired] = await driftReports(amh.topics.drift!, 2, 120_000);
    expect(detected).toMatchObject({ observed: 'MISSING', repair: null });
    expect(repaired).toMatchObject({ observed: 'MISSING', repair: { action: 'RECREATE', outcome: 'OK' } });
    expect(repaired?.headers?.['amh.repair']?.toString()).toBe('RECREATE');
    const repairId = repaired?.repair?.event_id ?? '';
    expect(repairId).toMatch(new RegExp(`^amh-repair:${String(redeem.event_id)}:\\d+$`));

    // On the reply topic, told apart from an answer to the Orchestrator's own events.
    const onWire = await collectMessages(amh.topics.replies, { count: 2 });
    const repairReply = onWire[1]!;
    const result: SliverResult = (await codec.decode('result', repairReply.value)).value;
    expect(result).toMatchObject({ event_id: repairId, operation: 'REDEEM', outcome: 'OK', sequence: 1, sliver_id: id });
    expect(repairReply.headers?.['amh.repair']?.toString()).toBe('RECREATE');
    expect(repairReply.headers?.['amh.repair_of']?.toString()).toBe(String(redeem.event_id));
    expect(onWire[0]?.headers?.['amh.repair']).toBeUndefined();

    // Same instance name, address, worker, devices and NIC VLAN as the original create.
    const after = sim.vm(instance) as Record<string, unknown>;
    expect(after).toMatchObject({ instance_name: instance, sliver_id: id, state: 'ACTIVE', management_ip: before.management_ip, worker: before.worker });
    expect(result.sliver).toMatchObject({ instance_name: instance, management_ip: created?.sliver?.management_ip });
    expect(result.sliver?.components.map((c) => [c.name, c.type, c.bdfs])).toEqual(created?.sliver?.components.map((c) => [c.name, c.type, c.bdfs]));
    expect(result.sliver?.components[1]?.interfaces[0]?.vlan).toBe(120);
    expect(sim.heldBy(instance).sort()).toEqual(heldBefore);

    // The Orchestrator closes it: the reconciler neither reports nor re-creates a closed sliver.
    const close = { ...redeem, event_id: randomUUID(), operation: 'CLOSE', sequence: 2, timestamp: Date.now() };
    await amh.send(close);
    const closed = (await collectMessages(amh.topics.replies, { count: 3 }))[2]!;
    expect((await codec.decode('result', closed.value)).value).toMatchObject({ event_id: close.event_id, outcome: 'OK' });
    expect(sim.vm(instance)).toBeUndefined();
    let probedAfterClose = 0;
    amh.service.events.on('probed', ({ sliverId }) => sliverId === id && probedAfterClose++);
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS));
    expect(probedAfterClose).toBe(0);
    expect(sim.vm(instance)).toBeUndefined();
    await expect(collectMessages(amh.topics.drift!, { count: 3, timeoutMs: 1_000 })).rejects.toThrow();
  });
});

describe('drift detection of a network service', () => {
  let amh: SimNetworkService | null = null;
  afterEach(async () => {
    await amh?.stop();
    amh = null;
  });

  it('a VLAN removed from an L2PTP port by hand is reported as DEGRADED drift', async () => {
    amh = await startSimNetworkService(reconcile);
    const epA = { name: 'ep-a', site: 'SIM1', device: 'sim-sw-1', port: port(7), vlan: null, mac: '02:00:00:00:0a:01', bandwidth: 10 };
    const epB = { name: 'ep-b', site: 'SIM2', device: 'sim-sw-2', port: port(8), vlan: 310, mac: '02:00:00:00:0b:01', bandwidth: 10 };
    const sliverId = `ptp-${randomUUID().slice(0, 6)}`;
    const [created] = await amh.roundTrip(netEvent('L2PTP', { name: 'ptp', interfaces: [epA, epB] }, { sliver_id: sliverId }));
    expect(created?.outcome, created?.message).toBe('OK');
    const assigned = created?.sliver?.interfaces.find((i) => i.name === 'ep-a')?.vlan;
    expect(assigned).toBeTypeOf('number');

    amh.substrate.dropVlan('sim-sw-1', port(7), assigned as number);
    const [report] = await driftReports(amh.topics.drift!, 1);
    expect(report).toMatchObject({ kind: 'DRIFT', sliver_id: sliverId, resource_type: 'L2PTP', handler: 'network', observed: 'DEGRADED', repair: null });
    expect(report?.differences[0]).toMatch(new RegExp(`^sliver DEGRADED: ep-a: VLAN ${assigned} on sim-sw-1 ${port(7).replace(/\//g, '\\/')} is not held by the service`));
    expect(JSON.parse(report?.expected ?? '{}').interfaces).toEqual([
      { name: 'ep-a', component: null, vlan: assigned },
      { name: 'ep-b', component: null, vlan: 310 },
    ]);
    // Repair is off by default: the VLAN stays gone.
    expect(amh.substrate.vlansOn('sim-sw-1', port(7))).toEqual({});
  });
});
