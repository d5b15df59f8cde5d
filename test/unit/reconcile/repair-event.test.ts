import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type SliverEvent, type SliverState } from '../../../src/codec/index.js';
import { originalOf, repairBlocked, repairEvent, repairHeaders } from '../../../src/reconcile/repair-event.js';
import { emptyLedger, recordAnswer } from '../../../src/state/ledger.js';
import { vmEvent } from '../../helpers/events.js';

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const event = (o: Record<string, unknown>): SliverEvent => codec.complete<'event'>(catalog.current('event'), vmEvent({ sliver_id: 's1', ...o } as never));
const LIMITS = { entries: 64, replies: 4 };

describe('repairEvent', () => {
  const modify = event({
    event_id: 'm1',
    operation: 'MODIFY',
    sequence: 4,
    node_sliver: { name: 'node1', worker: null, components: [{ name: 'GPU1', type: 'GPU' }, { name: 'NIC1', type: 'SmartNIC', interfaces: [{ name: 'p1', vlan: null }] }] },
    previous_node_sliver: { name: 'node1' },
  });
  const state: SliverState = {
    instance_name: 's1-node1',
    management_ip: '10.30.0.7',
    worker: 'sim-worker-2',
    observed: 'EXISTS',
    details: null,
    components: [
      { name: 'GPU1', type: 'GPU', bdfs: ['0000:25:00.0'], guest_bdfs: [], interfaces: [], labels: {} },
      { name: 'NIC1', type: 'SmartNIC', bdfs: ['0000:41:00.0'], guest_bdfs: [], interfaces: [{ name: 'p1', device: null, port: null, vlan: 120, mac: null, ipv4: null, ipv6: null, guest_interface: null, labels: {} }], labels: {} },
    ],
    interfaces: [],
    labels: {},
  };

  it('is a REDEEM of the applied sliver, same sequence, pinned to the instance name, address, worker, devices and VLANs it had', () => {
    const repair = repairEvent(modify, state, 1_000);
    expect(repair).toMatchObject({ event_id: 'amh-repair:m1:1000', operation: 'REDEEM', sequence: 4, timestamp: 1_000, previous_node_sliver: null, poa: null });
    expect(repair.node_sliver?.management).toMatchObject({ instance_name: 's1-node1', management_ip: '10.30.0.7' });
    expect(repair.node_sliver?.worker).toBe('sim-worker-2');
    expect(repair.node_sliver?.components.map((c) => [c.name, c.bdfs, c.interfaces.map((i) => i.vlan)])).toEqual([
      ['GPU1', ['0000:25:00.0'], []],
      ['NIC1', ['0000:41:00.0'], [120]],
    ]);
    // It encodes: it goes through the same path as an event.
    expect(() => codec.encode('event', repair)).not.toThrow();
  });

  it('a repair of a repair names the Orchestrator event; the reply headers say so', () => {
    const again = repairEvent({ ...modify, event_id: 'amh-repair:m1:1000' }, state, 2_000);
    expect(again.event_id).toBe('amh-repair:m1:2000');
    expect(originalOf(again.event_id)).toBe('m1');
    expect(repairHeaders(again.event_id)).toEqual({ 'amh.repair': 'RECREATE', 'amh.repair_of': 'm1' });
    expect(repairHeaders('m1')).toEqual({});
  });
});

describe('repairBlocked (decided under the lease)', () => {
  const redeem = event({ event_id: 'r1', sequence: 1 });
  const ok = { outcome: 'OK', reply: Buffer.from('r'), ran: true, event: Buffer.from('e') };
  const created = recordAnswer(emptyLedger('s1'), redeem, ok, 'me', 10, LIMITS);
  const applied = created.applied!;

  it('allows the repair of the applied state as it is', () => {
    expect(repairBlocked(created, applied)).toBeNull();
  });

  it('refuses a sliver closed, superseded by a newer applied event, or with a newer event run meanwhile', () => {
    const closed = recordAnswer(created, event({ event_id: 'c', sequence: 2, operation: 'CLOSE' }), ok, 'me', 20, LIMITS);
    expect(repairBlocked(closed, applied)).toBe('the sliver was closed meanwhile');
    const modified = recordAnswer(created, event({ event_id: 'm', sequence: 2, operation: 'MODIFY' }), ok, 'me', 20, LIMITS);
    expect(repairBlocked(modified, applied)).toBe('superseded meanwhile by MODIFY m');
    const failed = recordAnswer(created, event({ event_id: 'm', sequence: 2, operation: 'MODIFY' }), { ...ok, outcome: 'FAILED' }, 'me', 20, LIMITS);
    expect(repairBlocked(failed, applied)).toBe('superseded meanwhile: sequence 2 ran after 1');
    expect(repairBlocked(undefined, applied)).toBe('the sliver has no ledger any more');
  });
});
