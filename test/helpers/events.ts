import { randomUUID } from 'node:crypto';
import type { SliverEvent } from '../../src/codec/types.js';

type EventInput = Partial<Omit<SliverEvent, 'node_sliver'>> & { node_sliver?: Record<string, unknown> | null };

/** A VM redeem as the AM would send it; override any field. Unset fields take schema defaults when encoded. */
export function vmEvent(overrides: EventInput = {}): Record<string, unknown> {
  const sliverId = overrides.sliver_id ?? `sliver-${randomUUID().slice(0, 8)}`;
  return {
    event_id: randomUUID(),
    operation: 'REDEEM',
    sliver_id: sliverId,
    slice_id: 'slice-1',
    resource_type: 'VM',
    sequence: 1,
    timestamp: Date.now(),
    node_sliver: {
      name: 'node1',
      site: 'SIM1',
      worker: 'sim-worker-1',
      instance_type: 'fabric.c2.m8.d10',
      capacities: { core: 2, ram: 8, disk: 10 },
      image: 'default_rocky_9',
    },
    slice: { user_ssh_keys: [{ key: 'ssh-ed25519 AAAAC3Nza test', comment: 'test' }] },
    ...overrides,
  };
}
