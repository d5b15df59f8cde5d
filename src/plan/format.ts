import type { ClaimCheck, EventPlan, PlanStep } from './types.js';

/** A plan for people: the verdict, each step with its playbook and vars, assumptions, claims. */
export function formatPlan(plan: EventPlan): string {
  const e = plan.event;
  const lines = [`${e.operation} ${e.resource_type} ${e.sliver_id} (sequence ${e.sequence})${plan.handler ? ` -> handler ${plan.handler}` : ''}: ${plan.outcome}`];
  if (plan.reason) lines.push(`  reason: ${plan.reason}`);
  if (plan.steps.length > 0) {
    lines.push('  steps:');
    for (const step of plan.steps) lines.push(...formatStep(step));
  }
  if (plan.assumptions.length > 0) {
    lines.push('  assumptions:');
    for (const a of plan.assumptions) lines.push(`    - ${a}`);
  }
  if (plan.claims.length > 0 || plan.availability !== 'nothing to claim') {
    lines.push(`  claims (${plan.availability}):`);
    for (const c of plan.claims) lines.push(`    ${mark(c)} ${describeClaim(c)}: ${c.detail}`);
  }
  if (plan.onFailure) lines.push(`  on failure: ${plan.onFailure}`);
  if (plan.message) lines.push(`  expected reply: ${plan.message}`);
  lines.push('  nothing was changed');
  return `${lines.join('\n')}\n`;
}

function formatStep(step: PlanStep): string[] {
  const keys = step.keys.length > 0 ? ` [${step.keys.join(', ')}]` : '';
  const out = [`    ${step.n}. ${step.label}: ${step.playbook}${keys}${step.cleanup ? ' (cleanup)' : ''}`];
  for (const [key, value] of Object.entries(step.vars)) {
    if (value === null || value === undefined) continue;
    out.push(`         ${key}: ${JSON.stringify(value)}`);
  }
  return out;
}

function mark(c: ClaimCheck): string {
  return c.available === true ? 'free ' : c.available === false ? 'TAKEN' : '  ?  ';
}

function describeClaim({ claim: c }: ClaimCheck): string {
  switch (c.kind) {
    case 'capacity':
      return `capacity ${c.flavor ? `${c.flavor.core} cores, ${c.flavor.ram} GiB, ${c.flavor.disk} GB` : '?'} on ${c.worker ?? 'any worker'}`;
    case 'pci':
      return `${c.type} ${c.component} ${c.bdfs.join(', ')} on ${c.worker ?? 'the worker chosen at boot'}`;
    case 'vlan':
      return `${c.interface}: ${c.device ?? '?'} ${c.port ?? '?'} VLAN ${c.vlan ?? '(assigned)'}`;
    case 'p4':
      return `P4 switch ${c.device}`;
  }
}
