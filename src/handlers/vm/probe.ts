import type { Component, ObservedState, SliverEvent } from '../../codec/types.js';
import type { HandlerOutcome } from '../types.js';
import { isPci, isStorage } from './components.js';
import { probeReport, type ProbeReport } from './report.js';
import { STEP, VmSteps, type VmContext } from './steps.js';
import { requireNode } from './validate.js';
import { probeVars, targetOf } from './vars.js';

/** PROBE: what the substrate has for this sliver, compared with what the event says it should have. Changes nothing. */
export async function probe(event: SliverEvent, ctx: VmContext): Promise<HandlerOutcome> {
  const sliver = requireNode(event);
  const steps = new VmSteps(ctx, event, sliver, targetOf(event, sliver));
  const seen = probeReport((await steps.run(STEP.probe, 'operation.probe', probeVars(sliver.components))).data.probe);
  const verdict = assess(seen, sliver.components);
  const name = seen.instanceName ?? steps.target.instanceName;
  const labels: Record<string, string> = { instance_name: name };
  if (seen.domain) labels.instance = seen.domain;
  if (seen.state) labels.state = seen.state;
  return {
    message: `VM ${name} ${verdict.observed}: ${verdict.details}`,
    sliver: {
      instance_name: name,
      management_ip: seen.managementIp,
      worker: seen.worker,
      observed: verdict.observed,
      details: verdict.details,
      components: seen.components.map((c) => c.state),
      labels,
    },
  };
}

export interface Verdict {
  observed: ObservedState;
  details: string;
}

/**
 * MISSING: no VM. DEGRADED: the VM is there but not ACTIVE, a component's
 * device or volume is not attached, a requested component is absent, or
 * devices are held that no component accounts for, or a detached device
 * waits for its wipe. EXISTS otherwise.
 */
export function assess(seen: ProbeReport, expected: readonly Component[]): Verdict {
  if (!seen.exists) return { observed: 'MISSING', details: `VM ${seen.instanceName ?? '?'} does not exist` };
  const problems: string[] = [];
  if (seen.keptFailed) problems.push('kept for diagnosis after a failed create');
  if (seen.state !== 'ACTIVE') problems.push(`VM state is ${seen.state ?? 'unknown'}, not ACTIVE`);
  const present = new Map(seen.components.map((c) => [c.state.name, c]));
  for (const c of seen.components) {
    const lost = c.state.bdfs.filter((b) => !c.attachedBdfs.includes(b));
    if (isPci(c.state) && lost.length > 0) problems.push(`${c.state.name}: ${lost.join(', ')} not attached`);
    if (isStorage(c.state) && c.volumeAttached === false) problems.push(`${c.state.name}: volume ${c.state.labels.volume ?? ''} not attached`);
  }
  for (const c of expected) {
    if (!present.has(c.name)) problems.push(`${c.name} (${c.type}) is missing`);
  }
  if (seen.strayBdfs.length > 0) problems.push(`devices held by no component: ${seen.strayBdfs.join(', ')}`);
  if (seen.wipePending.length > 0) problems.push(`detached, wipe pending: ${seen.wipePending.map((w) => `${w.component} ${w.bdf}`).join(', ')}`);
  if (problems.length > 0) return { observed: 'DEGRADED', details: problems.join('; ') };
  const parts = seen.components.map((c) => c.state.name);
  return {
    observed: 'EXISTS',
    details: `ACTIVE on ${seen.worker ?? '?'} at ${seen.managementIp ?? '?'}${parts.length ? ` with ${parts.join(', ')}` : ''}`,
  };
}
