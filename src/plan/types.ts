import type { Operation } from '../codec/types.js';

/**
 * `amh plan`: a dry run of an event. The handler's own code runs with a
 * planning runner in place of ansible-playbook; each playbook call is
 * recorded and answered with what it would most likely return (the
 * plugin's `plan.answer`), so flows that branch on results go down their
 * usual path. Nothing runs on the substrate except a read-only availability
 * check of what the calls would claim, where the substrate has one.
 */

/** One playbook call of the handler, as the planning runner sees it. */
export interface PlannedCall {
  /** Absolute path of the playbook. */
  playbook: string;
  /** The handler's config keys that point at this playbook (`GPU`, `SmartNIC`, ... for vm_pci.yml). */
  keys: readonly string[];
  vars: Record<string, unknown>;
  /** Called through `runCleanup` (undoing work, marking a failure) rather than `runPlaybook`. */
  cleanup: boolean;
  operation: Operation;
}

/** A substrate resource a call would take; `owner` is how the substrate names the sliver's hold. */
export type Claim =
  | { kind: 'capacity'; worker: string | null; flavor: { core: number; ram: number; disk: number } | null; owner: string; sliver_id: string }
  | { kind: 'pci'; worker: string | null; bdfs: string[]; type: string; component: string; owner: string; sliver_id: string }
  | { kind: 'vlan'; device: string | null; port: string | null; vlan: number | null; interface: string; owner: string; sliver_id: string }
  | { kind: 'p4'; device: string; owner: string; sliver_id: string };

/** What the planning runner answers for one call. */
export interface PlanAnswer {
  /** The `set_stats` data the playbook would most likely report. */
  data: Record<string, unknown>;
  /** The step's name as the handler reports it (`attach_component GPU1`); default the playbook's file name. */
  label?: string;
  /** What the answer takes for granted, printed with the plan ("assuming the probe finds ..."). */
  assumption?: string;
  claims?: Claim[];
}

/** A plugin's side of `amh plan` (`HandlerPlugin.plan`). */
export interface PlanSupport<Settings> {
  answer(call: PlannedCall, settings: Settings): PlanAnswer;
  /** The read-only availability check: a playbook (absent = not checked) and its vars besides `claims`. */
  check?(settings: Settings): { playbook: string; vars: Record<string, unknown> };
  /** What happens to a failed create under these settings (rolled back, or kept for diagnosis). */
  onFailure?(settings: Settings): string;
}

/** One step of a plan. */
export interface PlanStep {
  n: number;
  label: string;
  /** File name; `path` is absolute. */
  playbook: string;
  path: string;
  keys: string[];
  cleanup: boolean;
  /** Extra vars, secrets redacted. */
  vars: Record<string, unknown>;
  assumption: string | null;
}

export interface ClaimCheck {
  claim: Claim;
  /** null: could not be checked. */
  available: boolean | null;
  detail: string;
}

/**
 * PLANNED: the steps would run (exit 0). REJECTED: the event fails validation
 * (exit 1). WOULD_FAIL: a resource it needs is taken, or the flow itself fails
 * under the plan's assumptions (exit 2).
 */
export type PlanOutcome = 'PLANNED' | 'REJECTED' | 'WOULD_FAIL';

export interface EventPlan {
  event: { event_id: string; sliver_id: string; resource_type: string; operation: string; sequence: number };
  handler: string | null;
  outcome: PlanOutcome;
  /** Why REJECTED or WOULD_FAIL. */
  reason: string | null;
  steps: PlanStep[];
  assumptions: string[];
  claims: ClaimCheck[];
  /** How availability was checked, or why it was not. */
  availability: string;
  onFailure: string | null;
  /** The message the reply would most likely carry. */
  message: string | null;
}
