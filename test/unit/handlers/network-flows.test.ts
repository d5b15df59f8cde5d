import { describe, expect, it } from 'vitest';
import { PlaybookError } from '../../../src/errors/index.js';
import { serviceChanges } from '../../../src/handlers/network/diff.js';
import { networkPlugin } from '../../../src/handlers/network/index.js';
import { serviceName } from '../../../src/handlers/network/service.js';
import { fakeContext, networkEvent, settingsOf } from '../../helpers/network-unit.js';
import { port } from '../../helpers/sim-network.js';

type Json = Record<string, unknown>;

const settings = settingsOf(networkPlugin, { network: { border_routers: ['br-1'] } });
const endpoints = [
  { name: 'a', site: 'S1', device: 'sw1', port: port(1), vlan: null, mac: '02:00:00:00:00:0a' },
  { name: 'b', site: 'S2', device: 'sw2', port: port(2), vlan: 300 },
];
const redeem = networkEvent('L2PTP', { name: 'ptp', interfaces: endpoints }, { sliver_id: 's1' });

/** What net_create.yml hands back for `redeem`. */
const created = {
  service: {
    name: 'ptp-s1',
    type: 'L2PTP',
    state: 'ACTIVE',
    interfaces: [
      { name: 'a', site: 'S1', device: 'sw1', port: port(1), vlan: 100, mac: '02:00:00:00:00:0a', vlan_assigned: true },
      { name: 'b', site: 'S2', device: 'sw2', port: port(2), vlan: 300, mac: null, vlan_assigned: false },
    ],
  },
};
const deleted = (existed: boolean) => ({ service: { name: 'ptp-s1', existed, attempts: 1, note: '' } });
const boom = (step: string, retriable = false) => new PlaybookError(`${step} failed on localhost: no`, step, { retriable });

describe('network plugin: create', () => {
  it('runs the type\'s playbook with the service and replies with what each interface got', async () => {
    const { ctx, runs } = fakeContext(settings, () => ({ data: created }));
    const outcome = await networkPlugin.create?.(redeem, ctx);
    expect(runs.map((r) => r.playbook)).toEqual(['net_create.yml']);
    expect(runs[0]?.vars).toMatchObject({
      service: { name: 'ptp-s1', sliver_id: 's1', type: 'L2PTP', border_routers: [], interfaces: [expect.objectContaining({ name: 'a', vlan: null }), expect.objectContaining({ name: 'b', vlan: 300 })] },
      state_dir: expect.any(String),
      controller: { password_env: 'AMH_NSO_PASSWORD' },
      fail_at: null,
    });
    expect(JSON.stringify(runs[0]?.vars)).not.toMatch(/password"\s*:/);
    expect(outcome?.message).toBe('L2PTP ptp-s1 is ACTIVE: a: sw1 HundredGigE0/0/0/1 VLAN 100, b: sw2 HundredGigE0/0/0/2 VLAN 300');
    expect(outcome?.sliver?.interfaces).toEqual([
      { name: 'a', device: 'sw1', port: port(1), vlan: 100, mac: '02:00:00:00:00:0a', ipv4: null, ipv6: null, guest_interface: null, labels: { site: 'S1', vlan_source: 'assigned' } },
      { name: 'b', device: 'sw2', port: port(2), vlan: 300, mac: null, ipv4: null, ipv6: null, guest_interface: null, labels: { site: 'S2', vlan_source: 'requested' } },
    ]);
  });

  it('passes the configured border routers to the Ext types only', async () => {
    const ext = networkEvent('FABNetv4Ext', { interfaces: [endpoints[0]], gateway: '10.0.0.1', subnet: '10.0.0.0/24', permitted: ['192.0.2.0/24'] });
    const { ctx, runs } = fakeContext(settings, () => ({ data: created }));
    await networkPlugin.create?.(ext, ctx);
    expect(runs[0]?.vars).toMatchObject({ service: { border_routers: ['br-1'], permitted: ['192.0.2.0/24'] } });
  });

  it('cleans up after a failed create and says so in the error, keeping its step', async () => {
    const { ctx, runs } = fakeContext(settings, (r) => (r.cleanup ? { data: deleted(true) } : boom('net_create.yml: configure')));
    const err = await networkPlugin.create?.(redeem, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlaybookError);
    expect(err).toMatchObject({ step: 'net_create.yml: configure', message: expect.stringMatching(/\(everything created so far was removed\)$/) });
    expect(runs.map((r) => [r.playbook, r.cleanup])).toEqual([['net_create.yml', false], ['net_delete.yml', true]]);
    expect(runs[1]?.vars).toMatchObject({ delete_retries: 3, retry_delay: 2 });
  });

  it('says when the cleanup failed too, so the Orchestrator knows leftovers may remain', async () => {
    const { ctx } = fakeContext(settings, (r) => boom(r.cleanup ? 'net_delete.yml: remove' : 'net_create.yml: allocate_vlans'));
    const err = await networkPlugin.create?.(redeem, ctx).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/cleanup failed, leftovers may remain: net_delete.yml: remove failed/);
  });

  it('fails a run whose data is unusable, naming the playbook (and cleans up)', async () => {
    const { ctx } = fakeContext(settings, (r) => (r.cleanup ? { data: deleted(true) } : { data: { service: { name: 'x' } } }));
    const err = await networkPlugin.create?.(redeem, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlaybookError);
    expect((err as Error).message).toMatch(/^net_create.yml returned no usable data.service \(type: /);
  });

  it('keeps a transient failure retriable after the cleanup, so the executor (handlers.<h>.retry) can run the create again', async () => {
    const { ctx } = fakeContext(settings, (r) => (r.cleanup ? { data: deleted(true) } : boom('net_create.yml: validate', true)));
    await expect(networkPlugin.create?.(redeem, ctx)).rejects.toMatchObject({ retriable: true, step: 'net_create.yml: validate' });
  });
});

describe('network plugin: delete and probe', () => {
  it('deletes, and answers OK for what is already gone', async () => {
    const close = networkEvent('L2PTP', { name: 'ptp', interfaces: endpoints }, { sliver_id: 's1', operation: 'CLOSE' });
    const gone = fakeContext(settings, () => ({ data: deleted(true) }));
    await expect(networkPlugin.delete?.(close, gone.ctx)).resolves.toMatchObject({ message: 'L2PTP ptp-s1 deleted', sliver: { observed: 'MISSING' } });
    const already = fakeContext(settings, () => ({ data: deleted(false) }));
    await expect(networkPlugin.delete?.(close, already.ctx)).resolves.toMatchObject({ message: 'L2PTP ptp-s1 was already gone' });
  });

  it('reports a delete whose every attempt failed as a failure, not as success', async () => {
    const close = networkEvent('L2PTP', { name: 'ptp', interfaces: endpoints }, { sliver_id: 's1', operation: 'CLOSE' });
    const { ctx } = fakeContext(settings, () => boom('net_delete.yml: remove'));
    await expect(networkPlugin.delete?.(close, ctx)).rejects.toBeInstanceOf(PlaybookError);
  });

  it('probes: the observed state and details, with the interfaces when the service exists', async () => {
    const probe = networkEvent('L2PTP', { name: 'ptp', interfaces: endpoints }, { sliver_id: 's1', operation: 'PROBE' });
    const degraded = fakeContext(settings, () => ({ data: { service: { observed: 'DEGRADED', details: 'b: VLAN gone', record: created.service } } }));
    await expect(networkPlugin.probe?.(probe, degraded.ctx)).resolves.toMatchObject({
      sliver: { observed: 'DEGRADED', details: 'b: VLAN gone', interfaces: [expect.anything(), expect.anything()] },
    });
    const missing = fakeContext(settings, () => ({ data: { service: { observed: 'MISSING', details: 'no such service', record: {} } } }));
    await expect(networkPlugin.probe?.(probe, missing.ctx)).resolves.toMatchObject({ sliver: { observed: 'MISSING', instance_name: 'ptp-s1' } });
  });
});

describe('network plugin: modify', () => {
  const modify = (next: Json) =>
    networkEvent('L2PTP', { name: 'ptp', interfaces: endpoints, ...next }, {
      sliver_id: 's1',
      operation: 'MODIFY',
      previous_network_sliver: { name: 'ptp', type: 'L2PTP', interfaces: endpoints },
    });

  it('does nothing when interfaces, labels, capacities and settings are unchanged', async () => {
    const { ctx, runs } = fakeContext(settings);
    await expect(networkPlugin.modify?.(modify({}), ctx)).resolves.toMatchObject({ message: expect.stringMatching(/nothing to do/) });
    expect(runs).toEqual([]);
  });

  it('deletes the previous service, then creates the requested one', async () => {
    const { ctx, runs } = fakeContext(settings, (r) => ({ data: r.playbook === 'net_delete.yml' ? deleted(true) : created }));
    const outcome = await networkPlugin.modify?.(modify({ interfaces: [endpoints[0], { ...endpoints[1], bandwidth: 40 }] }), ctx);
    expect(runs.map((r) => r.playbook)).toEqual(['net_delete.yml', 'net_create.yml']);
    expect(outcome?.message).toMatch(/re-created with changed capacities/);
  });

  it('with keep_failed, a failed modify still puts the previous service back (only a create keeps its failure)', async () => {
    const keeping = settingsOf(networkPlugin, { keep_failed: true, network: { border_routers: ['br-1'] } });
    const { ctx, runs } = fakeContext(keeping, (r) =>
      r.playbook === 'net_delete.yml' ? { data: deleted(true) } : r.cleanup ? { data: created } : boom('net_create.yml: configure'),
    );
    const err = await networkPlugin.modify?.(modify({ labels: { color: 'blue' } }), ctx).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/the previous service was restored$/);
    expect(runs.map((r) => r.playbook)).not.toContain('net_mark_failed.yml');
  });

  it('with keep_failed, a failed create is marked instead of removed, and the error carries the service', async () => {
    const keeping = settingsOf(networkPlugin, { keep_failed: true, network: { border_routers: ['br-1'] } });
    const { ctx, runs } = fakeContext(keeping, (r) =>
      r.playbook === 'net_mark_failed.yml'
        ? { data: { service: { name: 'ptp-s1', existed: true, record: { ...created.service, state: 'RESERVED' } } } }
        : boom('net_create.yml: configure'),
    );
    const err = (await networkPlugin.create?.(redeem, ctx).catch((e: unknown) => e)) as PlaybookError;
    expect(err).toBeInstanceOf(PlaybookError);
    expect(err.step).toBe('net_create.yml: configure');
    expect(err.message).toContain('kept for diagnosis (keep_failed): service ptp-s1 left in place (RESERVED), marked failed');
    expect(err.sliver).toMatchObject({ instance_name: 'ptp-s1', observed: 'DEGRADED', labels: { kept_for_diagnosis: 'true' } });
    expect(runs.map((r) => `${r.playbook}${r.cleanup ? ' (cleanup)' : ''}`)).toEqual(['net_create.yml', 'net_mark_failed.yml (cleanup)']);
  });

  it('puts the previous service back when the new one cannot be created', async () => {
    const { ctx, runs } = fakeContext(settings, (r) =>
      r.playbook === 'net_delete.yml' ? { data: deleted(true) } : r.cleanup ? { data: created } : boom('net_create.yml: allocate_vlans'),
    );
    const err = await networkPlugin.modify?.(modify({ labels: { color: 'blue' } }), ctx).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/everything created so far was removed\); the previous service was restored$/);
    expect(runs.map((r) => `${r.playbook}${r.cleanup ? ' (cleanup)' : ''}`)).toEqual([
      'net_delete.yml',
      'net_create.yml',
      'net_delete.yml (cleanup)',
      'net_create.yml (cleanup)',
    ]);
    expect(runs[3]?.vars).toMatchObject({ service: { interfaces: [expect.anything(), expect.objectContaining({ vlan: 300 })] } });
  });

  it('counts bandwidth as capacities, and ignores key order', () => {
    const before = modify({}).network_sliver!;
    const after = { ...before, interfaces: before.interfaces.map((i) => ({ ...i, bandwidth: 100 })) };
    expect(serviceChanges(before, after)).toEqual(['capacities']);
    const reordered = { ...before, labels: { b: '2', a: '1' } };
    expect(serviceChanges({ ...before, labels: { a: '1', b: '2' } }, reordered)).toEqual([]);
    expect(serviceChanges(before, { ...before, permitted: ['192.0.2.0/24'] })).toEqual(['settings']);
  });
});

describe('service name', () => {
  it('is the local_name label, else {name[:16]}-{sliver_id}', () => {
    const sliver = networkEvent('L2PTP', { name: 'a-very-long-service-name', interfaces: [] }).network_sliver!;
    expect(serviceName('s9', sliver)).toBe('a-very-long-serv-s9');
    expect(serviceName('s9', { ...sliver, labels: { local_name: 'mine' } })).toBe('mine');
  });
});
