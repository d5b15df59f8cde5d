import type { PlaybookRunResult } from '../../ansible/types.js';
import type { Component, NodeSliver, SliverEvent } from '../../codec/types.js';
import { AmhError, PlaybookError, errorMessage, type AmhErrorOptions } from '../../errors/index.js';
import type { HandlerContext } from '../types.js';
import { playbookPath, type PlaybookKey, type VmSettings } from './settings.js';
import { commonVars, type Vars, type VmTarget } from './vars.js';

export type VmContext = HandlerContext<VmSettings>;

/**
 * Step names: what `failed_step` says (followed by the playbook and task,
 * e.g. `attach_component GPU1 (vm_pci.yml: attach_pci)`), so an operator
 * knows which component or phase failed without reading logs.
 */
export const STEP = {
  boot: 'boot_vm',
  reboot: 'reboot_vm',
  postBoot: 'post_boot_config',
  probe: 'probe_vm',
  delete: 'delete_vm',
  attach: (c: Pick<Component, 'name'>) => `attach_component ${c.name}`,
  detach: (c: Pick<Component, 'name'>) => `detach_component ${c.name}`,
  configureNic: (c: Pick<Component, 'name'>) => `configure_nic ${c.name}`,
  mount: (c: Pick<Component, 'name'>) => `mount_storage ${c.name}`,
  wipe: (c: Pick<Component, 'name'>) => `wipe_nvme ${c.name}`,
  markFailed: 'mark_failed',
  poa: (operation: string) => `poa ${operation}`,
} as const;

/** `label (playbook: task)`, or the label alone when the inner step is unknown. */
export function stepName(label: string, inner: string | undefined): string {
  return inner ? `${label} (${inner})` : label;
}

type PlaybookErrorClass = new (message: string, step: string | undefined, options?: AmhErrorOptions) => PlaybookError;

/**
 * The error of a failed step, renamed after the step. Keeps the class
 * (timeout, cancellation, substrate refusal stay what they are) and the
 * retriable flag; anything that is not one of ours becomes a PlaybookError.
 */
export function relabel(err: unknown, label: string): AmhError {
  if (err instanceof PlaybookError) {
    const Class = err.constructor as PlaybookErrorClass;
    return new Class(`${label} failed: ${err.message}`, stepName(label, err.step), { cause: err, retriable: err.retriable });
  }
  if (err instanceof AmhError) return err;
  return new PlaybookError(`${label} failed: ${errorMessage(err)}`, label, { cause: err });
}

/** A step's error as thrown by VmSteps.run (already named), or anything else named after `label`. */
export function asStepError(err: unknown, label: string): AmhError {
  return err instanceof AmhError ? err : relabel(err, label);
}

/** The same error with a note appended to its message (e.g. what the rollback did). */
export function withNote(err: AmhError, note: string): AmhError {
  if (!(err instanceof PlaybookError)) return err;
  const Class = err.constructor as PlaybookErrorClass;
  const noted = new Class(`${err.message}; ${note}`, err.step, { cause: err.cause ?? err, retriable: err.retriable });
  if (err.sliver) noted.sliver = err.sliver;
  return noted;
}

/**
 * Runs the VM playbooks of one operation: each step a playbook by its
 * config key, with the common vars, under the operation's signal (or, for
 * `cleanup()`, under the cleanup limit that outlives it).
 */
export class VmSteps {
  constructor(
    private readonly ctx: VmContext,
    private readonly event: SliverEvent,
    private readonly sliver: NodeSliver,
    readonly target: VmTarget,
    private readonly mode: 'operation' | 'cleanup' = 'operation',
  ) {}

  /** The same steps for undoing work: runCleanup, with its own time limit. */
  cleanup(): VmSteps {
    return new VmSteps(this.ctx, this.event, this.sliver, this.target, 'cleanup');
  }

  /** The same steps aimed at a VM whose worker/IP became known (after boot or probe). */
  at(target: Partial<VmTarget>): VmSteps {
    const known = Object.fromEntries(Object.entries(target).filter(([, v]) => v !== null && v !== undefined));
    return new VmSteps(this.ctx, this.event, this.sliver, { ...this.target, ...known }, this.mode);
  }

  async run(label: string, key: PlaybookKey, vars: Vars = {}): Promise<PlaybookRunResult> {
    const playbook = playbookPath(this.ctx.config, key);
    const run = this.mode === 'cleanup' ? this.ctx.runCleanup : this.ctx.runPlaybook;
    const started = Date.now();
    this.ctx.logger.debug({ step: label, playbook, mode: this.mode }, `step ${label}`);
    try {
      // Into the fresh object commonVars returns, not a spread of it: copying its ~20 fields costs 3 µs per step.
      const result = await run(playbook, Object.assign(commonVars(this.event, this.sliver, this.ctx.config, this.target), vars));
      this.ctx.logger.info({ step: label, durationMs: Date.now() - started }, `step ${label} done`);
      return result;
    } catch (err) {
      throw relabel(err, label);
    }
  }
}
