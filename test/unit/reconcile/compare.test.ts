import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type SliverEvent, type SliverState } from '../../../src/codec/index.js';
import { compare, expectedOf } from '../../../src/reconcile/compare.js';
import { vmEvent } from '../../helpers/events.js';

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const event = (o: Record<string, unknown>): SliverEvent => codec.complete<'event'>(catalog.current('event'), vmEvent({ sliver_id: 's1', ...o } as never));
const iface = (name: string, vlan: number | null) => ({ name, device: 'sw', port: 'p1', vlan, mac: null, ipv4: null, ipv6: null, guest_interface: null, labels: {} });
const state = (o: Partial<SliverState>): SliverState => ({
  instance_name: 's1-node1',
  management_ip: '10.0.0.2',
  worker: 'w1',
  observed: 'EXISTS',
  details: null,
  components: [],
  interfaces: [],
  labels: {},
  ...o,
});

const vm = event({
  node_sliver: {
    name: 'node1',
    components: [
      { name: 'GPU1', type: 'GPU' },
      { name: 'NIC1', type: 'SmartNIC', interfaces: [{ name: 'p1', vlan: null }] },
    ],
  },
});
const applied = state({
  components: [
    { name: 'GPU1', type: 'GPU', bdfs: ['0000:01:00.0'], guest_bdfs: [], interfaces: [], labels: {} },
    { name: 'NIC1', type: 'SmartNIC', bdfs: [], guest_bdfs: [], interfaces: [iface('p1', 100)], labels: {} },
  ],
});

describe('expectedOf', () => {
  it('takes components from the event and the address, instance name and assigned VLANs from the reply', () => {
    expect(expectedOf(vm, applied)).toEqual({
      instance_name: 's1-node1',
      management_ip: '10.0.0.2',
      components: [{ name: 'GPU1', type: 'GPU' }, { name: 'NIC1', type: 'SmartNIC' }],
      interfaces: [{ name: 'p1', component: 'NIC1', vlan: 100 }],
    });
  });

  it('without a reply, a VLAN the event left to the substrate is not checked', () => {
    expect(expectedOf(vm, null).interfaces).toEqual([{ name: 'p1', component: 'NIC1', vlan: null }]);
  });
});

describe('compare', () => {
  const expected = expectedOf(vm, applied);

  it('the same state is no drift', () => {
    expect(compare(expected, applied)).toEqual({ observed: 'EXISTS', differences: [] });
  });

  it('MISSING is reported alone, with the probe details', () => {
    expect(compare(expected, state({ observed: 'MISSING', details: 'VM s1-node1 does not exist', components: [] }))).toEqual({
      observed: 'MISSING',
      differences: ['sliver MISSING: VM s1-node1 does not exist'],
    });
  });

  it('DEGRADED, a component gone, a VLAN changed, another address', () => {
    const found = state({
      observed: 'DEGRADED',
      details: 'GPU1 (GPU) is missing',
      management_ip: '10.0.0.9',
      components: [{ name: 'NIC1', type: 'SmartNIC', bdfs: [], guest_bdfs: [], interfaces: [iface('p1', null)], labels: {} }],
    });
    expect(compare(expected, found).differences).toEqual([
      'sliver DEGRADED: GPU1 (GPU) is missing',
      'management address 10.0.0.2 -> 10.0.0.9',
      'component GPU1 gone',
      'interface NIC1/p1 VLAN 100 -> null',
    ]);
  });

  it('an interface gone from a component that still lists interfaces; none listed is not a loss', () => {
    const gone = state({ components: [applied.components[0]!, { ...applied.components[1]!, interfaces: [iface('p2', 7)] }] });
    expect(compare(expected, gone).differences).toEqual(['interface NIC1/p1 gone']);
    const unseen = state({ components: [applied.components[0]!, { ...applied.components[1]!, interfaces: [] }] });
    expect(compare(expected, unseen).differences).toEqual([]);
  });

  it('a network service: a top-level interface VLAN changed', () => {
    const l2 = event({ resource_type: 'L2PTP', node_sliver: null, network_sliver: { name: 'svc', type: 'L2PTP', interfaces: [{ name: 'ep-a', vlan: 100 }, { name: 'ep-b', vlan: null }] } });
    const reported = state({ instance_name: 'svc', management_ip: null, interfaces: [iface('ep-a', 100), iface('ep-b', 201)] });
    const exp = expectedOf(l2, reported);
    expect(compare(exp, reported).differences).toEqual([]);
    expect(compare(exp, state({ ...reported, interfaces: [iface('ep-a', 100), iface('ep-b', 300)] })).differences).toEqual(['interface ep-b VLAN 201 -> 300']);
  });
});
