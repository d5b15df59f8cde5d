import type { SliverEvent, SliverLedger } from '../codec/types.js';
import { LedgerGate, type LedgerGateOptions } from '../pipeline/02-gate.js';
import type { Decision } from '../state/ledger.js';
import type { LedgerStore, LedgerUpdate, UpdateOptions, WriteOutcome } from '../state/store.js';
import { owns } from './compare.js';

export { REPAIR_EVENT_PREFIX, isRepairEvent } from './compare.js';

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
 * The ledger store seen by orphan repairs: a write for a sliver under repair is refused (nothing written)
 * once a ledger owns that sliver, checked under the store's per-sliver lock, where the claim is decided.
 * So a repair never takes the lease of a sliver that an event started to own after the audit saw it.
 */
export class RepairGuardedStore implements LedgerStore {
  /** Sliver id -> event id of the repair running for it. */
  readonly repairs = new Map<string, string>();

  constructor(private readonly inner: LedgerStore) {}

  start(): Promise<void> {
    return this.inner.start();
  }
  catchUp(): Promise<void> {
    return this.inner.catchUp();
  }
  get(sliverId: string): SliverLedger | undefined {
    return this.inner.get(sliverId);
  }
  update(sliverId: string, next: LedgerUpdate, options?: UpdateOptions): Promise<WriteOutcome> {
    const repair = this.repairs.get(sliverId);
    return this.inner.update(sliverId, (ledger) => (repair !== undefined && ownedAgainst(ledger, repair) ? null : next(ledger)), options);
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
}

/** Why a repair was skipped without running: recognised in its (unrecorded, unpublished) STALE answer. */
export const OWNED_NOW = 'a ledger owns the sliver now (an event arrived after the audit saw it): orphan repair skipped, nothing ran';

/**
 * The ledger gate of orphan repairs: the same gate as for events (leases, fencing, recording), except that
 * a repair of a sliver a ledger owns now is answered STALE without running and without being recorded
 * (that ledger belongs to the sliver's real events).
 */
export class RepairGate extends LedgerGate {
  constructor(
    options: Omit<LedgerGateOptions, 'store'>,
    private readonly guarded: RepairGuardedStore,
  ) {
    super({ ...options, store: guarded });
  }

  override decide(event: SliverEvent): Decision {
    if (ownedAgainst(this.guarded.get(event.sliver_id), event.event_id)) return { kind: 'stale', reason: OWNED_NOW, unrecorded: true };
    return super.decide(event);
  }
}
