import type { AppliedEvent, InFlight, SliverEvent, SliverLedger } from '../codec/types.js';

/** What to do with an event, given what the sliver's ledger says. */
export type Decision =
  /** Answered before: re-publish the stored reply, run nothing. */
  | { kind: 'duplicate'; entry: AppliedEvent }
  /** Older than what was applied (e.g. a create replayed after its delete): run nothing, answer STALE. */
  | { kind: 'stale'; appliedSequence: number }
  /** Another live instance is running an operation on this sliver: wait for it. */
  | { kind: 'wait'; inFlight: InFlight }
  /** Run it. `interrupted` is an operation found in flight whose owner died: this run reconciles it. */
  | { kind: 'run'; interrupted: InFlight | null };

/** Pure: the decision for `event` against `ledger`. */
export function decide(
  ledger: SliverLedger | undefined,
  event: SliverEvent,
  me: string,
  isAlive: (owner: string) => boolean,
): Decision {
  if (!ledger) return { kind: 'run', interrupted: null };
  const entry = ledger.entries.find((e) => e.event_id === event.event_id);
  if (entry) return { kind: 'duplicate', entry };
  const flight = ledger.in_flight;
  if (flight && flight.owner !== me && isAlive(flight.owner)) return { kind: 'wait', inFlight: flight };
  if (event.sequence < ledger.applied_sequence) return { kind: 'stale', appliedSequence: ledger.applied_sequence };
  return { kind: 'run', interrupted: flight && flight.owner !== me ? flight : null };
}

export function emptyLedger(sliverId: string): SliverLedger {
  return { sliver_id: sliverId, version: 0, applied_sequence: -1, entries: [], in_flight: null, updated_at: 0 };
}

/** The ledger with `event` marked as running by `owner`. */
export function markInFlight(ledger: SliverLedger, event: SliverEvent, owner: string, now: number): SliverLedger {
  return {
    ...ledger,
    version: ledger.version + 1,
    in_flight: { event_id: event.event_id, sequence: event.sequence, operation: event.operation, owner, started_at: now },
    updated_at: now,
  };
}

/**
 * The ledger with the event's answer recorded (keeping the newest `keep`
 * entries) and its in-flight mark cleared. REJECTED and STALE answers ran
 * nothing, so they do not move `applied_sequence`.
 */
export function recordAnswer(
  ledger: SliverLedger,
  event: SliverEvent,
  outcome: string,
  reply: Buffer,
  now: number,
  keep: number,
): SliverLedger {
  const entries = [
    ...ledger.entries.filter((e) => e.event_id !== event.event_id),
    { event_id: event.event_id, sequence: event.sequence, operation: event.operation, outcome, finished_at: now, reply },
  ].slice(-keep);
  const ran = outcome !== 'REJECTED' && outcome !== 'STALE';
  return {
    ...ledger,
    version: ledger.version + 1,
    applied_sequence: ran ? Math.max(ledger.applied_sequence, event.sequence) : ledger.applied_sequence,
    entries,
    in_flight: ledger.in_flight?.event_id === event.event_id || ran ? null : ledger.in_flight,
    updated_at: now,
  };
}
