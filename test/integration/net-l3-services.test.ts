import { expect } from 'vitest';
import { SECRET, at, describeLifecycle } from '../helpers/net-lifecycle.js';

type Json = Record<string, unknown>;
const interfaces = (r: Json) => r.interfaces as Json[];

describeLifecycle('FABNetv4/v6, FABNetv4Ext/v6Ext and L3VPN services', [
  {
    type: 'FABNetv4',
    sliver: { gateway: '10.128.0.1', subnet: '10.128.0.0/24', interfaces: [at('a', 'SIM1', 'sim-sw-1', 31), at('b', 'SIM2', 'sim-sw-2', 31)] },
    change: { interfaces: [at('a', 'SIM1', 'sim-sw-1', 31, { vlan: 700 }), at('b', 'SIM2', 'sim-sw-2', 31)] },
    modified: (r) => expect(interfaces(r)[0]).toMatchObject({ vlan: 700, vlan_assigned: false }),
  },
  {
    type: 'FABNetv6',
    sliver: { gateway: '2001:db8:1::1', subnet: '2001:db8:1::/64', interfaces: [at('a', 'SIM1', 'sim-sw-1', 32)] },
    change: { gateway: '2001:db8:2::1', subnet: '2001:db8:2::/64' },
    modified: (r) => expect(r).toMatchObject({ gateway: '2001:db8:2::1', subnet: '2001:db8:2::/64' }),
  },
  {
    type: 'FABNetv4Ext',
    sliver: { gateway: '10.129.0.1', subnet: '10.129.0.0/24', permitted: ['192.0.2.0/24'], interfaces: [at('a', 'SIM2', 'sim-sw-2', 1)] },
    created: (r) => expect(r.border_routers).toEqual(['sim-br-1']), // from the handler's config
    change: { permitted: ['192.0.2.0/24', '198.51.100.0/24'] },
    modified: (r) => expect(r.permitted).toEqual(['192.0.2.0/24', '198.51.100.0/24']),
  },
  {
    type: 'FABNetv6Ext',
    sliver: { gateway: '2001:db8:3::1', subnet: '2001:db8:3::/64', permitted: ['2001:db8:ff::/48'], interfaces: [at('a', 'SIM2', 'sim-sw-2', 2)] },
    change: { permitted: ['2001:db8:fe::/48'] },
    modified: (r) => expect(r.permitted).toEqual(['2001:db8:fe::/48']),
  },
  {
    type: 'L3VPN',
    sliver: {
      interfaces: [
        at('a', 'SIM1', 'sim-sw-1', 3, { peering: { asn: 65001, ipv4_subnet: '192.0.2.0/31', bgp_key: SECRET } }),
        at('b', 'SIM2', 'sim-sw-2', 3, { peering: { gateway: '10.1.1.1' } }),
      ],
    },
    // The simulated router config holds the MD5 key; replies never do (checked for every reply).
    created: (r) => expect(JSON.stringify(r)).toContain(SECRET),
    change: {
      interfaces: [
        at('a', 'SIM1', 'sim-sw-1', 3, { peering: { asn: 65002, ipv4_subnet: '192.0.2.0/31', bgp_key: SECRET } }),
        at('b', 'SIM2', 'sim-sw-2', 3, { peering: { gateway: '10.1.1.1' } }),
      ],
    },
    modified: (r) => expect(interfaces(r)[0]).toMatchObject({ peering: { asn: 65002 } }),
  },
]);
