import type { DriftReport, DriftRepair, SliverLedger } from '../codec/types.js';
import type { SubstrateObject } from '../handlers/types.js';

/** Something a handler's substrate lists, with the handler entry that listed it. */
export interface Listed {
  /** Entry under `handlers:` in the config. */
  handler: string;
  object: SubstrateObject;
}

/** Why no ledger owns an orphan. */
export type OrphanReason =
  /** The substrate names no sliver (it cannot be owned, nor deleted through a sliver's lane). */
  | 'no-sliver'
  /** No ledger for its sliver id (never provisioned here, or its ledger expired and was deleted). */
  | 'no-ledger'
  /** Its sliver's ledger says it was closed (a CLOSE answered OK) and nothing runs on it now. */
  | 'closed';

/** Something that exists on the substrate and that no ledger owns. */
export interface Orphan extends Listed {
  reason: OrphanReason;
  /** The sliver's ledger, when there is one (a closed one). */
  ledger: SliverLedger | null;
  /** Key of its drift record: the sliver id, or `<resource_type>:<name>` when it names none. */
  key: string;
}

/** A substrate that could not be listed in an audit pass: the audit is incomplete for that handler. */
export interface ListingFailure {
  handler: string;
  message: string;
}

/**
 * Drift findings from a drift provider (the periodic probe, src/reconcile/): one DRIFT record per drifted
 * sliver of the partitions in `scope`.
 */
export type DriftProvider = (scope: { partitions: readonly number[]; signal: AbortSignal }) => Promise<DriftReport[]>;

/** What one audit pass found. */
export interface AuditReport {
  startedAt: number;
  finishedAt: number;
  /** Partitions audited (the sliver ids and orphan keys that map to them). */
  partitions: number[];
  /** Substrate objects listed in scope. */
  listed: number;
  orphans: DriftReport[];
  drift: DriftReport[];
  /** Handlers whose substrate could not be listed; the pass is incomplete for them. */
  failures: ListingFailure[];
  /** Handlers without a `list` function: their substrate is not audited. */
  unlisted: string[];
}

export type { DriftReport, DriftRepair };
