import { describe, expect, it } from 'vitest';
import { PlaybookError, ValidationError } from '../../../src/errors/index.js';
import { switchPlugin } from '../../../src/handlers/switch/index.js';
import { fakeContext, p4Event, settingsOf } from '../../helpers/network-unit.js';

const settings = settingsOf(switchPlugin);
const redeem = p4Event({}, { sliver_id: 's1' });
const created = {
  switch: {
    instance_name: 's1-p4',
    device: 'sim-p4-1',
    management_ip: '10.20.0.9',
    state: 'ACTIVE',
    ports: [
      { name: 'p1', port: '1/0', vlan: 100, mac: null, state: 'UP' },
      { name: 'p2', port: '2/0', vlan: null, mac: null, state: 'UP' },
    ],
  },
};

function verdict(node: Record<string, unknown>, overrides: Record<string, unknown> = {}): string {
  try {
    switchPlugin.validate?.(p4Event(node, overrides), settings);
    return 'valid';
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
}

describe('switch plugin', () => {
  it('validates: the switch (worker) on every operation, unique ports with valid VLANs on redeem', () => {
    expect(verdict({})).toBe('valid');
    expect(verdict({ worker: null })).toBe('REDEEM of a Switch needs node_sliver.worker (the P4 switch)');
    expect(verdict({ worker: null }, { operation: 'CLOSE' })).toMatch(/CLOSE of a Switch needs node_sliver.worker/);
    expect(verdict({ interfaces: [{ name: 'p1', port: '1/0' }, { name: 'p2', port: '1/0' }] })).toBe('Switch: a port is listed twice');
    expect(verdict({ interfaces: [{ name: 'p1' }] })).toBe('Switch: interface p1 needs a port');
    expect(verdict({ interfaces: [{ name: 'p1', port: '1/0', vlan: 5000 }] })).toMatch(/VLAN 5000 is outside 0-4094/);
    expect(verdict({ management: { instance_name: '../etc' } })).toMatch(/instance name '..\/etc' must be/);
  });

  it('creates: one run with the sliver, the slice keys and how to reach the switch; replies with address and ports', async () => {
    const { ctx, runs } = fakeContext(settingsOf(switchPlugin, { runtime: { disable_fip: true } }), () => ({ data: created }));
    const outcome = await switchPlugin.create?.(redeem, ctx);
    expect(runs[0]?.playbook).toBe('switch_create.yml');
    expect(runs[0]?.vars).toMatchObject({
      switch: { instance_name: 's1-p4', device: 'sim-p4-1', ssh_keys: ['ssh-ed25519 AAAAC3Nza p4-test'], mgmt_ipv6: true, ports: [{ name: 'p1', port: '1/0', vlan: 100 }, { name: 'p2' }] },
      p4: { admin_user: 'amh', slice_user: 'p4user', switchd_service: 'bf_switchd', admin_ssh_key: null },
      ssh_retries: 10,
    });
    expect(outcome).toMatchObject({
      message: 'P4 switch sim-p4-1 is ACTIVE as s1-p4 at 10.20.0.9 with 2 port(s)',
      sliver: { instance_name: 's1-p4', management_ip: '10.20.0.9', worker: 'sim-p4-1', observed: 'EXISTS' },
    });
    expect(outcome?.sliver?.interfaces?.[0]).toEqual({ name: 'p1', device: 'sim-p4-1', port: '1/0', vlan: 100, mac: null, ipv4: null, ipv6: null, guest_interface: null, labels: { state: 'UP' } });
  });

  it('cleans up a create that failed part-way, keeping the failed step', async () => {
    const { ctx, runs } = fakeContext(settings, (r) =>
      r.cleanup ? { data: { switch: { instance_name: 's1-p4', existed: true } } } : new PlaybookError('switch_create.yml: configure failed', 'switch_create.yml: configure'),
    );
    const err = await switchPlugin.create?.(redeem, ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ step: 'switch_create.yml: configure', message: expect.stringMatching(/everything created so far was removed/) });
    expect(runs.map((r) => [r.playbook, r.cleanup])).toEqual([['switch_create.yml', false], ['switch_delete.yml', true]]);
  });

  it('deletes honestly: already gone is OK, a failed release is a failure', async () => {
    const close = p4Event({}, { sliver_id: 's1', operation: 'CLOSE' });
    const gone = fakeContext(settings, () => ({ data: { switch: { instance_name: 's1-p4', existed: false } } }));
    await expect(switchPlugin.delete?.(close, gone.ctx)).resolves.toMatchObject({ message: 'P4 switch s1-p4 was already gone', sliver: { observed: 'MISSING' } });
    const stuck = fakeContext(settings, () => new PlaybookError('switch_delete.yml: release failed', 'switch_delete.yml: release'));
    await expect(switchPlugin.delete?.(close, stuck.ctx)).rejects.toBeInstanceOf(PlaybookError);
  });

  it('offers create, delete and probe only (no modify, as in the reference)', () => {
    expect([switchPlugin.create, switchPlugin.delete, switchPlugin.probe].every((f) => typeof f === 'function')).toBe(true);
    expect(switchPlugin.modify).toBeUndefined();
    expect(switchPlugin.poa).toBeUndefined();
  });
});
