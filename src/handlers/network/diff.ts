import type { Interface, NetworkServiceSliver } from '../../codec/types.js';

/** What a MODIFY changes; empty = nothing to do. */
export type ServiceChange = 'interfaces' | 'labels' | 'capacities' | 'settings';

/** Interfaces by name without bandwidth (capacities are compared on their own). */
function endpointKey(interfaces: Interface[]): string {
  const sorted = [...interfaces].sort((a, b) => a.name.localeCompare(b.name));
  return stable(sorted.map(({ bandwidth: _bandwidth, ...rest }) => rest));
}

function capacitiesKey(interfaces: Interface[]): string {
  return stable(Object.fromEntries(interfaces.map((i) => [i.name, i.bandwidth])));
}

/** JSON with sorted object keys, so key order never reads as a change. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/**
 * The reference applies a modify only when interfaces, labels or capacities
 * changed. We also count the service settings (gateway, subnet, route hops,
 * permit list, mirror): the reference would silently ignore a changed permit
 * list, which leaves the service different from what the AM believes.
 */
export function serviceChanges(before: NetworkServiceSliver, after: NetworkServiceSliver): ServiceChange[] {
  const changes: ServiceChange[] = [];
  if (endpointKey(before.interfaces) !== endpointKey(after.interfaces)) changes.push('interfaces');
  if (stable(before.labels) !== stable(after.labels)) changes.push('labels');
  if (capacitiesKey(before.interfaces) !== capacitiesKey(after.interfaces)) changes.push('capacities');
  const settings = (s: NetworkServiceSliver) => stable([s.gateway, s.subnet, s.ero, s.permitted, s.mirror]);
  if (settings(before) !== settings(after)) changes.push('settings');
  return changes;
}
