import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors/index.js';
import { networkPlugin } from '../../../src/handlers/network/index.js';
import { networkEvent, settingsOf } from '../../helpers/network-unit.js';
import { port } from '../../helpers/sim-network.js';

type Json = Record<string, unknown>;

const settings = settingsOf(networkPlugin, { network: { border_routers: ['br-1'] } });
const ep = (name: string, device: string, n: number, extra: Json = {}): Json => ({ name, site: 'SIM1', device, port: port(n), ...extra });

/** The message the plugin's validate answers REJECTED with, or 'valid'. */
function verdict(type: string, sliver: Json, overrides: Json = {}, s = settings): string {
  try {
    networkPlugin.validate?.(networkEvent(type, sliver, overrides), s);
    return 'valid';
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
}

describe('network service rules (REJECTED before any playbook runs)', () => {
  it('every type: endpoints on a device and port, unique names, VLAN 0-4094, none repeated', () => {
    expect(verdict('L2Bridge', { interfaces: [] })).toBe('L2Bridge: needs at least one interface');
    expect(verdict('L2Bridge', { interfaces: [ep('a', 'sw', 1), ep('a', 'sw', 2)] })).toBe('L2Bridge: interface names must be unique');
    expect(verdict('L2Bridge', { interfaces: [{ name: 'a', device: 'sw' }] })).toBe('L2Bridge: interface a needs a device and a port');
    expect(verdict('L2Bridge', { interfaces: [ep('a', 'sw', 1, { vlan: 4095 })] })).toMatch(/VLAN 4095 is outside 0-4094/);
    expect(verdict('L2Bridge', { interfaces: [ep('a', 'sw', 1, { vlan: 7 }), ep('b', 'sw', 1, { vlan: 7 })] })).toMatch(/VLAN 7 is used twice/);
  });

  it('L2Bridge: all interfaces on one device', () => {
    expect(verdict('L2Bridge', { interfaces: [ep('a', 'sw1', 1), ep('b', 'sw1', 2)] })).toBe('valid');
    expect(verdict('L2Bridge', { interfaces: [ep('a', 'sw1', 1), ep('b', 'sw2', 2)] })).toBe('L2Bridge: all interfaces must be on one device');
  });

  it('L2PTP: exactly 2 tagged interfaces on different devices, optional route hops', () => {
    const two = [ep('a', 'sw1', 1), ep('b', 'sw2', 1, { vlan: 200 })];
    expect(verdict('L2PTP', { interfaces: two, ero: ['sw3'] })).toBe('valid');
    expect(verdict('L2PTP', { interfaces: [ep('a', 'sw1', 1)] })).toBe('L2PTP: needs exactly 2 interfaces, got 1');
    expect(verdict('L2PTP', { interfaces: [...two, ep('c', 'sw3', 1)] })).toBe('L2PTP: needs exactly 2 interfaces, got 3');
    expect(verdict('L2PTP', { interfaces: [ep('a', 'sw1', 1, { vlan: 0 }), ep('b', 'sw2', 1)] })).toMatch(/must be tagged/);
    expect(verdict('L2PTP', { interfaces: [ep('a', 'sw1', 1), ep('b', 'sw1', 2)] })).toBe('L2PTP: the 2 interfaces must be on different devices');
    expect(verdict('L2PTP', { interfaces: two, ero: ['sw3', 'sw3'] })).toMatch(/must not repeat/);
  });

  it('L2STS: exactly 2 sites', () => {
    const at = (name: string, site: string) => ep(name, `sw-${site}`, 1, { site });
    expect(verdict('L2STS', { interfaces: [at('a', 'S1'), at('b', 'S2'), at('c', 'S2')] })).toBe('valid');
    expect(verdict('L2STS', { interfaces: [at('a', 'S1'), at('b', 'S1')] })).toBe('L2STS: needs exactly 2 sites, got 1');
    expect(verdict('L2STS', { interfaces: [at('a', 'S1'), at('b', 'S2'), at('c', 'S3')] })).toBe('L2STS: needs exactly 2 sites, got 3');
  });

  it('FABNetv4/v6: gateway and subnet required, of the right version, gateway inside the subnet', () => {
    const ifs = [ep('a', 'sw', 1)];
    expect(verdict('FABNetv4', { interfaces: ifs, gateway: '10.0.0.1', subnet: '10.0.0.0/24' })).toBe('valid');
    expect(verdict('FABNetv4', { interfaces: ifs, subnet: '10.0.0.0/24' })).toBe('FABNetv4: gateway and subnet are required');
    expect(verdict('FABNetv4', { interfaces: ifs, gateway: '10.0.1.1', subnet: '10.0.0.0/24' })).toMatch(/gateway '10.0.1.1' is not an address in 10.0.0.0\/24/);
    expect(verdict('FABNetv4', { interfaces: ifs, gateway: '2001:db8::1', subnet: '2001:db8::/64' })).toMatch(/is not an IPv4 prefix/);
    expect(verdict('FABNetv6', { interfaces: ifs, gateway: '2001:db8:0:1::1', subnet: '2001:db8:0:1::/64' })).toBe('valid');
    expect(verdict('FABNetv6', { interfaces: ifs, gateway: '2001:db8:0:2::1', subnet: '2001:db8:0:1::/64' })).toMatch(/is not an address in/);
  });

  it('FABNet*Ext: also border routers from the config and a permit list of the same version', () => {
    const base = { interfaces: [ep('a', 'sw', 1)], gateway: '10.0.0.1', subnet: '10.0.0.0/24' };
    expect(verdict('FABNetv4Ext', { ...base, permitted: ['192.0.2.0/24'] })).toBe('valid');
    expect(verdict('FABNetv4Ext', base)).toBe('FABNetv4Ext: needs a permit list (network_sliver.permitted)');
    expect(verdict('FABNetv4Ext', { ...base, permitted: ['2001:db8::/32'] })).toMatch(/permitted '2001:db8::\/32' is not an IPv4 prefix/);
    const noRouters = settingsOf(networkPlugin, {});
    expect(verdict('FABNetv4Ext', { ...base, permitted: ['192.0.2.0/24'] }, {}, noRouters)).toMatch(/network.border_routers of this handler is empty/);
  });

  it('L3VPN: 2 or more sites, each a BGP peering (ASN + subnet, optional MD5) or a direct gateway', () => {
    const bgp = { asn: 65001, ipv4_subnet: '192.0.2.0/31', bgp_key: 'k' };
    const a = ep('a', 'sw1', 1, { site: 'S1', peering: bgp });
    const b = ep('b', 'sw2', 1, { site: 'S2', peering: { gateway: '10.1.1.1' } });
    expect(verdict('L3VPN', { interfaces: [a, b] })).toBe('valid');
    expect(verdict('L3VPN', { interfaces: [a, { ...b, site: 'S1' }] })).toMatch(/needs interfaces at 2 or more sites, got 1/);
    expect(verdict('L3VPN', { interfaces: [a, { ...b, peering: null }] })).toMatch(/interface b needs a BGP peering \(asn \+ subnet\) or a direct gateway/);
    expect(verdict('L3VPN', { interfaces: [{ ...a, peering: { asn: 65001 } }, b] })).toMatch(/a BGP peering needs ipv4_subnet or ipv6_subnet/);
    expect(verdict('L3VPN', { interfaces: [{ ...a, peering: { ...bgp, asn: 0 } }, b] })).toMatch(/peer ASN 0 is outside/);
    expect(verdict('L3VPN', { interfaces: [{ ...a, peering: { ...bgp, bgp_key: '' } }, b] })).toMatch(/MD5 key must be 1-80 characters/);
    expect(verdict('L3VPN', { interfaces: [a, { ...b, peering: { gateway: 'nope' } }] })).toMatch(/gateway 'nope' is not an IP address/);
  });

  it('PortMirror: exactly one destination, a source port, direction rx/tx/both (empty = both)', () => {
    const dest = [ep('d', 'sw', 1)];
    expect(verdict('PortMirror', { interfaces: dest, mirror: { source: port(2), direction: '' } })).toBe('valid');
    expect(verdict('PortMirror', { interfaces: [...dest, ep('e', 'sw', 3)], mirror: { source: port(2) } })).toMatch(/exactly one destination interface, got 2/);
    expect(verdict('PortMirror', { interfaces: dest })).toBe('PortMirror: needs mirror.source, the port to mirror');
    expect(verdict('PortMirror', { interfaces: dest, mirror: { source: port(1) } })).toMatch(/cannot be the destination port/);
    expect(verdict('PortMirror', { interfaces: dest, mirror: { source: port(2), direction: 'sideways' } })).toMatch(/'sideways' is not one of rx, tx, both/);
  });

  it('the sliver: present, of a known type that matches resource_type, with a usable name', () => {
    expect(verdict('L2PTP', {}, { network_sliver: null })).toBe('REDEEM of a L2PTP needs network_sliver');
    expect(verdict('L2PTP', { type: 'L2Bridge', interfaces: [ep('a', 'sw', 1)] })).toMatch(/does not match resource_type 'L2PTP'/);
    expect(verdict('L2Bridge', { interfaces: [ep('a', 'sw', 1)], labels: { local_name: 'bad name' } })).toMatch(/service name 'bad name' \(from label local_name\)/);
  });

  it('modify: needs the previous service, and keeps its type and name', () => {
    const ifs = [ep('a', 'sw1', 1), ep('b', 'sw2', 1)];
    const sliver = { name: 'p', type: 'L2PTP', interfaces: ifs, labels: {} };
    const modify = (prev: Json | null, next: Json = {}) =>
      verdict('L2PTP', { ...sliver, ...next }, { operation: 'MODIFY', sliver_id: 's1', previous_network_sliver: prev });
    expect(modify(sliver)).toBe('valid');
    expect(modify(null)).toMatch(/needs previous_network_sliver/);
    expect(modify({ ...sliver, name: 'q' })).toBe('MODIFY cannot change the service name (q-s1 -> p-s1)');
    expect(modify(sliver, { labels: { local_name: 'renamed' } })).toBe('MODIFY cannot change the service name (p-s1 -> renamed)');
  });
});
