import { describe, expect, it } from 'vitest';
import type { Component, Interface } from '../../../src/codec/types.js';
import { diffComponents, isEmptyDiff, needsNicConfig, volumeName } from '../../../src/handlers/vm/components.js';

function port(name: string, extra: Partial<Interface> = {}): Interface {
  return { name, site: null, device: null, port: null, vlan: null, bandwidth: null, mac: null, ipv4: null, ipv6: null, auto_config: false, labels: {}, peering: null, ...extra };
}

function comp(name: string, type: string, extra: Partial<Component> = {}): Component {
  return { name, type, model: null, bdfs: [], macs: [], interfaces: [], auto_mount: false, labels: {}, ...extra };
}

const gpu = comp('GPU1', 'GPU', { bdfs: ['0000:25:00.0'] });
const nic = comp('NIC1', 'SmartNIC', { bdfs: ['0000:41:00.0', '0000:41:00.1'], interfaces: [port('p1'), port('p2')] });
const vol = comp('data', 'Storage', { auto_mount: true });

describe('diffComponents', () => {
  it('finds added and removed components by name', () => {
    const d = diffComponents([gpu, nic], [nic, vol]);
    expect(d.added.map((c) => c.name)).toEqual(['data']);
    expect(d.removed.map((c) => c.name)).toEqual(['GPU1']);
    expect(d.unchanged.map((c) => c.name)).toEqual(['NIC1']);
    expect(isEmptyDiff(d)).toBe(false);
  });

  it('is empty when nothing changed (a modify then re-applies the configuration)', () => {
    const d = diffComponents([gpu, nic], [{ ...nic }, { ...gpu, bdfs: ['0000:25:00.0'.toUpperCase()] }]);
    expect(isEmptyDiff(d)).toBe(true);
  });

  it('treats other hardware under the same name as a replacement', () => {
    const d = diffComponents([gpu], [{ ...gpu, bdfs: ['0000:81:00.0'] }]);
    expect(d.removed).toEqual([gpu]);
    expect(d.added[0]?.bdfs).toEqual(['0000:81:00.0']);
  });

  it('sees a port that now carries a VLAN (stitching) as a configuration change', () => {
    const stitched = { ...nic, interfaces: [port('p1', { vlan: 1234, device: 'sw1', port: 'Hu0/0/0/5' }), port('p2')] };
    const d = diffComponents([nic], [stitched]);
    expect(d.changed).toEqual([stitched]);
    expect(d.added).toEqual([]);
  });

  it('compares addresses without their prefix, so the substrate\'s default prefix is no change', () => {
    const asked = { ...nic, interfaces: [port('p1', { ipv4: '10.0.0.2', auto_config: true }), port('p2')] };
    const applied = { ...nic, interfaces: [port('p1', { ipv4: '10.0.0.2/24', auto_config: true }), port('p2')] };
    expect(isEmptyDiff(diffComponents([applied], [asked]))).toBe(true);
  });

  it('sees another volume under the same Storage name as a replacement', () => {
    const d = diffComponents([vol], [{ ...vol, labels: { local_name: 'other' } }]);
    expect(d.removed).toHaveLength(1);
    expect(d.added).toHaveLength(1);
  });
});

describe('component rules', () => {
  it('names a volume after local_name, else the component', () => {
    expect(volumeName(vol)).toBe('data');
    expect(volumeName({ ...vol, labels: { local_name: 'scratch' } })).toBe('scratch');
  });

  it('configures a NIC inside the guest only when a port asks for it', () => {
    expect(needsNicConfig(nic)).toBe(false);
    expect(needsNicConfig({ ...nic, interfaces: [port('p1', { auto_config: true })] })).toBe(true);
    expect(needsNicConfig({ ...gpu, interfaces: [port('p1', { auto_config: true })] })).toBe(false);
  });
});
