import { join } from 'node:path';

/**
 * Pieces the built-in plugins share for `amh plan` (src/plan): placeholders
 * for values only the substrate decides, and the sim's read-only check.
 */

/** A value the substrate picks when the step really runs, e.g. `<management IP assigned at boot>`. */
export const placeholder = (what: string): string => `<${what}>`;

export function isPlaceholder(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith('<') && value.endsWith('>');
}

/** A string var, or null when absent or a placeholder. */
export function known(value: unknown): string | null {
  return typeof value === 'string' && value !== '' && !isPlaceholder(value) ? value : null;
}

/** The availability check in a playbooks folder: `plan_check.yml` (the sim has one; production has none). */
export function planCheck(location: string, stateDir: string): { playbook: string; vars: Record<string, unknown> } {
  return { playbook: join(location, 'plan_check.yml'), vars: { state_dir: process.env.AMH_SIM_STATE_DIR ?? stateDir } };
}
