import type { AppliedState, NetworkServiceSliver, NodeSliver, SliverEvent, SliverLedger, SliverState } from '../codec/types.js';

/**
 * Event ids of repairs start with this, and their replies carry the header
 * `amh.repair` (the action) and `amh.repair_of` (the applied event re-run):
 * how the Orchestrator tells a repair's reply from an answer to its own event.
 */
export const REPAIR_PREFIX = 'amh-repair:';

/** Kafka headers of a repair's reply (none for an ordinary answer). */
export function repairHeaders(eventId: string): Record<string, string> {
  if (!eventId.startsWith(REPAIR_PREFIX)) return {};
  return { 'amh.repair': 'RECREATE', 'amh.repair_of': originalOf(eventId) };
}

/** The Orchestrator's event behind a repair id (`amh-repair:<event_id>:<ms>`, a repair of a repair included). */
export function originalOf(eventId: string): string {
  let id = eventId;
  while (id.startsWith(REPAIR_PREFIX)) id = id.slice(REPAIR_PREFIX.length).replace(/:\d+$/, '');
  return id;
}

/**
 * Pure: the REDEEM that re-creates the applied state: the applied event
 * (a REDEEM, or a MODIFY, whose sliver is the desired state) as a create with
 * the same sequence, pinned to what the original create ended with: the
 * instance name, the management address, the worker, the host devices of each
 * component, and the VLAN of each interface.
 */
export function repairEvent(applied: SliverEvent, state: SliverState | null, now: number): SliverEvent {
  return {
    ...applied,
    event_id: `${REPAIR_PREFIX}${originalOf(applied.event_id)}:${now}`,
    operation: 'REDEEM',
    timestamp: now,
    node_sliver: applied.node_sliver && pinNode(applied.node_sliver, state),
    network_sliver: applied.network_sliver && pinNetwork(applied.network_sliver, state),
    previous_node_sliver: null,
    previous_network_sliver: null,
    poa: null,
  };
}

function pinNode(node: NodeSliver, state: SliverState | null): NodeSliver {
  if (!state) return node;
  const reported = new Map(state.components.map((c) => [c.name, c]));
  return {
    ...node,
    worker: node.worker ?? state.worker,
    management: {
      ...node.management,
      instance_name: node.management.instance_name ?? state.instance_name,
      management_ip: node.management.management_ip ?? state.management_ip,
    },
    components: node.components.map((c) => {
      const seen = reported.get(c.name);
      if (!seen) return c;
      const vlans = new Map(seen.interfaces.map((i) => [i.name, i.vlan]));
      return {
        ...c,
        bdfs: c.bdfs.length > 0 ? c.bdfs : seen.bdfs,
        interfaces: c.interfaces.map((i) => ({ ...i, vlan: i.vlan ?? vlans.get(i.name) ?? null })),
      };
    }),
  };
}

function pinNetwork(service: NetworkServiceSliver, state: SliverState | null): NetworkServiceSliver {
  if (!state) return service;
  const vlans = new Map(state.interfaces.map((i) => [i.name, i.vlan]));
  return { ...service, interfaces: service.interfaces.map((i) => ({ ...i, vlan: i.vlan ?? vlans.get(i.name) ?? null })) };
}

/**
 * Pure: why a repair of `applied` must not run on `ledger` now, or null when
 * it may. Decided under the lease (the gate asks it inside its claim): the
 * sliver was closed, or something newer than the applied event ran or was
 * applied meanwhile.
 */
export function repairBlocked(ledger: SliverLedger | undefined, applied: Pick<AppliedState, 'event_id' | 'sequence'>): string | null {
  if (!ledger) return 'the sliver has no ledger any more';
  if (ledger.closed_at > 0 || !ledger.applied) return 'the sliver was closed meanwhile';
  if (ledger.applied.event_id !== applied.event_id) return `superseded meanwhile by ${ledger.applied.operation} ${ledger.applied.event_id}`;
  if (ledger.applied_sequence !== applied.sequence) return `superseded meanwhile: sequence ${ledger.applied_sequence} ran after ${applied.sequence}`;
  return null;
}
