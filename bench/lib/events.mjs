// The VM events the benchmarks send, shaped as the AM sends them (as test/helpers/events.ts builds them).

import { randomUUID } from 'node:crypto';

/**
 * A VM event on sim-worker-1 (a REDEEM unless `event` says otherwise): `node` overrides fields of its
 * node_sliver (e.g. components, labels, capacities), `event` fields of the event (operation, sequence).
 */
export function vmRedeem(sliverId, node = {}, event = {}) {
  return {
    event_id: randomUUID(),
    operation: 'REDEEM',
    sliver_id: sliverId,
    slice_id: 'bench-slice',
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
      ...node,
    },
    slice: { user_ssh_keys: [{ key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIbench bench@example', comment: 'bench' }] },
    ...event,
  };
}
