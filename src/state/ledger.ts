import type { AppliedEvent, InFlight, SliverEvent, SliverLedger } from '../codec/types.js';

/** What to do with an event, given what the sliver's ledger says. */
export type Decision =
  /** Answered before: re-publish the stored reply, run nothing. */
  | { kind: 'duplicate'; entry: AppliedEvent }
  /** Older than what was applied (e.g. a create replayed after its delete): run nothing, answer STALE. */
  | { kind: 'stale'; appliedSequence: number }
  /** Another instance holds a live lease on this sliver: wait (without a concurrency slot) until it ends or expires. */
  | { kind: 'wait'; inFlight: InFlight; expiresAt: number }
  /** Run it. `interrupted` is an operation found in flight whose lease expired: this run reconciles it. */
  | { kind: 'run'; interrupted: InFlight | null };

/** In-flight marks written before leases existed (expires_at 0) hold this long after they started. */
export const LEGACY_LEASE_MS = 60_000;

/** When the lease of an in-flight mark ends. */
export function leaseExpiry(flight: InFlight): number {
  return flight.expires_at > 0 ? flight.expires_at : flight.started_at + LEGACY_LEASE_MS;
}

/**
 * Pure: the decision for `event` against `ledger` at time `now`. Liveness is
 * the lease alone: a mark whose lease has not expired is waited for,
 * whoever holds it (`amh run` or `amh replay`); an expired one is taken over.
 */
export function decide(ledger: SliverLedger | undefined, event: SliverEvent, me: string, now: number): Decision {
  if (!ledger) return { kind: 'run', interrupted: null };
  const entry = ledger.entries.find((e) => e.event_id === event.event_id);
  if (entry) return { kind: 'duplicate', entry };
  const flight = ledger.in_flight;
  if (flight && flight.owner !== me && leaseExpiry(flight) > now) return { kind: 'wait', inFlight: flight, expiresAt: leaseExpiry(flight) };
  if (event.sequence < ledger.applied_sequence) return { kind: 'stale', appliedSequence: ledger.applied_sequence };
  return { kind: 'run', interrupted: flight };
}

/**
 * Readers order records of one sliver by (epoch, version) and keep the
 * greatest; on a tie the record read first stays (the log decides).
 */
export function supersedes(candidate: SliverLedger, known: SliverLedger | undefined): boolean {
  if (!known) return true;
  if (candidate.epoch !== known.epoch) return candidate.epoch > known.epoch;
  return candidate.version > known.version;
}

/** Whether `a` and `b` are the same write (same writer, epoch and version). */
export function sameWrite(a: SliverLedger | undefined, b: SliverLedger): boolean {
  return a !== undefined && a.writer === b.writer && a.epoch === b.epoch && a.version === b.version;
}

export function emptyLedger(sliverId: string): SliverLedger {
  return { sliver_id: sliverId, version: 0, epoch: 0, writer: '', applied_sequence: -1, entries: [], in_flight: null, updated_at: 0 };
}

/** The ledger claimed by `owner` for `event`: a new epoch (fencing every older writer) and a lease until now + ttl. */
export function claim(ledger: SliverLedger, event: SliverEvent, owner: string, now: number, ttlMs: number): SliverLedger {
  return {
    ...ledger,
    version: ledger.version + 1,
    epoch: ledger.epoch + 1,
    writer: owner,
    in_flight: {
      event_id: event.event_id,
      sequence: event.sequence,
      operation: event.operation,
      owner,
      started_at: now,
      expires_at: now + ttlMs,
    },
    updated_at: now,
  };
}

/** The owner's lease extended to now + ttl (same epoch). */
export function renew(ledger: SliverLedger, now: number, ttlMs: number): SliverLedger {
  if (!ledger.in_flight) return ledger;
  return { ...ledger, version: ledger.version + 1, in_flight: { ...ledger.in_flight, expires_at: now + ttlMs }, updated_at: now };
}

/** The lease given up without an answer (the operation was stopped before it ended, e.g. its partition was revoked). */
export function release(ledger: SliverLedger, writer: string, now: number): SliverLedger {
  return { ...ledger, version: ledger.version + 1, writer, in_flight: null, updated_at: now };
}

/**
 * The ledger with the event's answer recorded (keeping the newest `keep`
 * entries) and its in-flight mark cleared. REJECTED, STALE and CANCELLED
 * answers given without running do not move `applied_sequence`.
 */
export function recordAnswer(
  ledger: SliverLedger,
  event: SliverEvent,
  answer: { outcome: string; reply: Buffer; ran: boolean },
  writer: string,
  now: number,
  keep: number,
): SliverLedger {
  const entries = [
    ...ledger.entries.filter((e) => e.event_id !== event.event_id),
    { event_id: event.event_id, sequence: event.sequence, operation: event.operation, outcome: answer.outcome, finished_at: now, reply: answer.reply },
  ].slice(-keep);
  const ran = answer.ran && answer.outcome !== 'REJECTED' && answer.outcome !== 'STALE';
  return {
    ...ledger,
    version: ledger.version + 1,
    writer,
    applied_sequence: ran ? Math.max(ledger.applied_sequence, event.sequence) : ledger.applied_sequence,
    entries,
    in_flight: ledger.in_flight?.event_id === event.event_id || ran ? null : ledger.in_flight,
    updated_at: now,
  };
}
