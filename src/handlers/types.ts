import type { z } from 'zod';
import type { PlaybookRunResult } from '../ansible/types.js';
import type { Operation, PoaResult, SliverEvent, SliverState } from '../codec/types.js';
import type { Logger } from '../observability/logger.js';
import type { PlanSupport } from '../plan/types.js';

/** Runs one playbook for the current operation; resolves only on success, throws a PlaybookError otherwise. */
export type RunPlaybook = (playbook: string, extraVars: Record<string, unknown>) => Promise<PlaybookRunResult>;

/** What a handler function gets besides the event. */
export interface HandlerContext<Settings> {
  /** Aborted on timeout, on cancellation and on forced shutdown; pass it to anything long. */
  signal: AbortSignal;
  /** Child logger carrying eventId, sliverId, resourceType, operation, topic, partition, offset. */
  logger: Logger;
  runPlaybook: RunPlaybook;
  /**
   * For undoing partial work after a failure, a timeout or a cancellation:
   * not bound to `signal` (which may have fired already) but to its own
   * limit, `timeouts.cleanup` of the handler, counted from each call.
   */
  runCleanup: RunPlaybook;
  /** The handler's resolved settings (validated by `settingsSchema` at start-up). */
  config: Settings;
}

/** What a handler returns on success. Failures are thrown (see src/errors). */
export interface HandlerOutcome {
  message?: string;
  sliver?: Partial<SliverState>;
  poa?: PoaResult;
}

export type HandlerFunction<Settings> = (event: SliverEvent, ctx: HandlerContext<Settings>) => Promise<HandlerOutcome>;

/**
 * One thing that exists on a handler's substrate (a VM, a network service, a
 * switch claim), as its `list` function reports it for the orphan audit.
 */
export interface SubstrateObject {
  /** The substrate's name for it (instance name, service name, switch). */
  name: string;
  /** The sliver it belongs to, when the substrate records one; null: reported, never repaired. */
  sliverId: string | null;
  /** Resource type of the sliver it would belong to (VM, L2PTP, Switch, ...). */
  resourceType: string;
  /** When it was created (ms since the epoch), when the substrate says. */
  createdAt: number | null;
  /** The substrate's record, as listed. */
  record: Record<string, unknown>;
  /**
   * The sliver part of a CLOSE that deletes it through the handler's own `delete` (orphan repair); null when
   * the handler cannot address it that way.
   */
  close: Pick<SliverEvent, 'node_sliver' | 'network_sliver'> | null;
}

/** What a handler's `list` gets: like a HandlerContext, without an event. */
export type ListContext<Settings> = Omit<HandlerContext<Settings>, 'runCleanup'>;

/** Which handler function serves an operation. */
export const OPERATION_FUNCTION: Record<Operation, 'create' | 'delete' | 'modify' | 'probe' | 'poa'> = {
  REDEEM: 'create',
  CLOSE: 'delete',
  MODIFY: 'modify',
  PROBE: 'probe',
  POA: 'poa',
};

/**
 * A handler plugin: a name, the resource types it serves by default, the
 * schema of its settings, and one function per operation it supports.
 */
export interface HandlerPlugin<Settings = unknown> {
  name: string;
  description: string;
  resourceTypes: readonly string[];
  /**
   * Validates `handlers.<entry>` of the config (unknown keys are errors);
   * `resolvePath` makes paths relative to the config file absolute.
   */
  settingsSchema(resolvePath: (path: string) => string): z.ZodType<Settings>;
  /** Inventory for every playbook run (`playbooks.inventory_location`); null = a generated localhost inventory. */
  inventory?(settings: Settings): string | null;
  /** Playbooks the settings refer to (absolute paths), for `amh handlers`. */
  playbooks(settings: Settings): Record<string, string>;
  /** Checks done before any playbook runs; throw ValidationError to answer REJECTED. */
  validate?(event: SliverEvent, settings: Settings): void;
  create?: HandlerFunction<Settings>;
  delete?: HandlerFunction<Settings>;
  modify?: HandlerFunction<Settings>;
  probe?: HandlerFunction<Settings>;
  poa?: HandlerFunction<Settings>;
  /** `amh plan`: what each playbook would most likely return and claim (see src/plan/types.ts). */
  plan?: PlanSupport<Settings>;
  /**
   * Optional: everything that exists on the substrate this handler serves, with the sliver each belongs to
   * where the substrate records it (the orphan audit, `amh audit`). Changes nothing.
   */
  list?(ctx: ListContext<Settings>): Promise<SubstrateObject[]>;
}

/** Type-erased plugin as stored in the registry. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandlerPlugin = HandlerPlugin<any>;
