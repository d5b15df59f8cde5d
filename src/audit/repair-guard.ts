import type { SliverLedger } from '../codec/types.js';
import { owns } from './compare.js';

export { REPAIR_EVENT_PREFIX, isRepairEvent } from './compare.js';

/** Why a repair was skipped without running (the guard's reason, in its unrecorded, unpublished STALE answer). */
export const OWNED_NOW = 'a ledger owns the sliver now (an event arrived after the audit saw it): orphan repair skipped, nothing ran';

/**
 * Whether a ledger owns the sliver against the repair `repairEventId`: an operation other than that repair
 * is in flight, or the sliver is open (see `owns`).
 */
export function ownedAgainst(ledger: SliverLedger | undefined, repairEventId: string): boolean {
  if (!ledger) return false;
  if (ledger.in_flight) return ledger.in_flight.event_id !== repairEventId;
  return owns(ledger);
}

/**
 * The gate guard of an orphan repair (`LedgerGate.guard`): checked when the repair is decided and again
 * inside the claim of its lease (under the store's per-sliver lock), so a repair never takes the lease of
 * a sliver that an event started to own after the audit saw it. Null: go on.
 */
export function orphanGuard(repairEventId: string): (ledger: SliverLedger | undefined) => string | null {
  return (ledger) => (ownedAgainst(ledger, repairEventId) ? OWNED_NOW : null);
}
