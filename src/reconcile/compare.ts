import type { Interface, ObservedState, SliverEvent, SliverState } from '../codec/types.js';

/** What was applied to a sliver, as far as a probe can check it. */
export interface ExpectedState {
  instance_name: string | null;
  management_ip: string | null;
  /** Components of the applied event (name and type). */
  components: { name: string; type: string }[];
  /** Interfaces, by the name the request gave them, with the VLAN in use (null: any). `component` null = top level. */
  interfaces: { name: string; component: string | null; vlan: number | null }[];
}

/** The verdict on one probe. */
export interface Comparison {
  observed: ObservedState;
  /** Human-readable differences; empty when the sliver is as applied. */
  differences: string[];
}

/**
 * Pure: what the applied event asked for, completed by what its reply reported
 * (the address, the instance name and the VLANs the substrate assigned).
 * Without a reply (it did not fit the ledger) the event alone: a VLAN it left
 * to the substrate (null) is not checked.
 */
export function expectedOf(event: SliverEvent, state: SliverState | null): ExpectedState {
  const node = event.node_sliver;
  const reported = new Map<string, number | null>();
  for (const i of state?.interfaces ?? []) reported.set(`|${i.name}`, i.vlan);
  for (const c of state?.components ?? []) for (const i of c.interfaces) reported.set(`${c.name}|${i.name}`, i.vlan);
  const iface = (i: Interface, component: string | null) => {
    const key = `${component ?? ''}|${i.name}`;
    return { name: i.name, component, vlan: reported.has(key) ? (reported.get(key) ?? null) : i.vlan };
  };
  const interfaces = [
    ...(node?.interfaces ?? []).map((i) => iface(i, null)),
    ...(node?.components ?? []).flatMap((c) => c.interfaces.map((i) => iface(i, c.name))),
    ...(event.network_sliver?.interfaces ?? []).map((i) => iface(i, null)),
  ];
  return {
    instance_name: state?.instance_name ?? node?.management.instance_name ?? null,
    management_ip: state?.management_ip ?? node?.management.management_ip ?? null,
    components: (node?.components ?? []).map((c) => ({ name: c.name, type: c.type })),
    interfaces,
  };
}

/**
 * Pure: the probe's report against what was applied. MISSING is the only
 * difference reported for a sliver that is gone; DEGRADED carries the
 * handler's details. Beyond the handler's own verdict: a component gone, an
 * interface gone, a VLAN changed, another address or instance name. A probe
 * that reports no interfaces (for the sliver, or for a component) is not
 * taken as having lost them: it cannot see them.
 */
export function compare(expected: ExpectedState, found: SliverState): Comparison {
  const details = found.details ? `: ${found.details}` : '';
  if (found.observed === 'MISSING') return { observed: 'MISSING', differences: [`sliver MISSING${details}`] };
  const differences: string[] = [];
  if (found.observed === 'DEGRADED') differences.push(`sliver DEGRADED${details}`);
  const changed = (what: string, was: string | null, now: string | null) => {
    if (was !== null && now !== null && was !== now) differences.push(`${what} ${was} -> ${now}`);
  };
  changed('instance name', expected.instance_name, found.instance_name);
  changed('management address', expected.management_ip, found.management_ip);
  const components = new Map(found.components.map((c) => [c.name, c]));
  for (const c of expected.components) if (!components.has(c.name)) differences.push(`component ${c.name} gone`);
  for (const i of expected.interfaces) {
    const list = i.component === null ? found.interfaces : components.get(i.component)?.interfaces;
    if (!list || list.length === 0) continue; // not reported (or its component is gone: said above)
    const seen = list.find((s) => s.name === i.name);
    const label = i.component === null ? `interface ${i.name}` : `interface ${i.component}/${i.name}`;
    if (!seen) differences.push(`${label} gone`);
    else if (i.vlan !== null && seen.vlan !== i.vlan) differences.push(`${label} VLAN ${i.vlan} -> ${seen.vlan ?? 'null'}`);
  }
  return { observed: found.observed, differences };
}
