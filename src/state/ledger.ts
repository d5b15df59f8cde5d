import type { AnswerDigest, AppliedEvent, AppliedState, InFlight, SliverEvent, SliverLedger } from '../codec/types.js';
import { formatDuration } from '../config/duration.js';

/** What to do with an event, given what the sliver's ledger says. */
export type Decision =
  /** Answered before: re-publish the stored reply, run nothing. */
  | { kind: 'duplicate'; entry: AppliedEvent }
  /** Answered before, but only its digest is kept (older than `consumer.ledger_replies` answers): answer with a reply rebuilt from it, run nothing. */
  | { kind: 'duplicate'; entry: null; digest: AnswerDigest }
  /**
   * Run nothing, answer STALE saying why (`reason`): older than what was applied (e.g. a create replayed after
   * its delete), or older than the ledger retention with no ledger left to tell (see `decide`). `unrecorded`:
   * the sliver has no ledger, and recording the answer would create one that never expires; the answer is
   * the same on every redelivery anyway.
   */
  | { kind: 'stale'; reason: string; unrecorded?: true }
  /** Another instance holds a live lease on this sliver: wait (without a concurrency slot) until it ends or expires. */
  | { kind: 'wait'; inFlight: InFlight; expiresAt: number }
  /** Run it. `interrupted` is an operation found in flight whose lease expired: this run reconciles it. */
  | { kind: 'run'; interrupted: InFlight | null };

/** How much of its past a ledger keeps. */
export interface LedgerLimits {
  /** Answered events remembered in all (full entries and digests): `consumer.ledger_entries`. */
  entries: number;
  /** Of those, the newest kept with their full reply: `consumer.ledger_replies` (at least 1, at most `entries`). */
  replies: number;
}

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
 *
 * With a `retentionMs` (`consumer.ledger_retention`; default: none), an event
 * whose `timestamp` is older than `now - retentionMs` and whose sliver has no
 * ledger, or an expired one (`isExpired`), is STALE: its sliver's ledger may
 * have been deleted, so a replay must not resurrect a closed sliver. A
 * duplicate still found in the ledger is answered as such first.
 */
export function decide(ledger: SliverLedger | undefined, event: SliverEvent, me: string, now: number, retentionMs = Number.POSITIVE_INFINITY): Decision {
  const beyondRetention = event.timestamp < now - retentionMs;
  if (!ledger) return beyondRetention ? { ...staleByRetention(retentionMs), unrecorded: true } : { kind: 'run', interrupted: null };
  const entry = ledger.entries.find((e) => e.event_id === event.event_id);
  if (entry) return { kind: 'duplicate', entry };
  const digest = ledger.digests.find((d) => d.event_id === event.event_id);
  if (digest) return { kind: 'duplicate', entry: null, digest };
  const flight = ledger.in_flight;
  if (flight && flight.owner !== me && leaseExpiry(flight) > now) return { kind: 'wait', inFlight: flight, expiresAt: leaseExpiry(flight) };
  if (beyondRetention && isExpired(ledger, now, retentionMs)) return staleByRetention(retentionMs);
  if (event.sequence < ledger.applied_sequence) {
    return { kind: 'stale', reason: `sequence ${event.sequence} is older than the applied sequence ${ledger.applied_sequence}: nothing ran` };
  }
  return { kind: 'run', interrupted: flight };
}

function staleByRetention(retentionMs: number): Extract<Decision, { kind: 'stale' }> {
  return { kind: 'stale', reason: `older than the ledger retention (${formatDuration(retentionMs)}): nothing ran` };
}

/**
 * Whether `ledger` may be deleted (a tombstone on the compacted topic): its
 * sliver was closed (a CLOSE answered OK, not followed by a successful
 * REDEEM) at least `retentionMs` ago, and nothing is in flight on it.
 */
export function isExpired(ledger: SliverLedger, now: number, retentionMs: number): boolean {
  return ledger.closed_at > 0 && ledger.in_flight === null && ledger.closed_at + retentionMs <= now;
}

/** An answered event without its reply. */
export function digestOf(entry: AppliedEvent | AnswerDigest): AnswerDigest {
  return { event_id: entry.event_id, sequence: entry.sequence, operation: entry.operation, outcome: entry.outcome, finished_at: entry.finished_at };
}

/** What identifies one write of a ledger: its writer, epoch and version. */
export type WriteStamp = Pick<SliverLedger, 'writer' | 'epoch' | 'version'>;

/**
 * Readers order records of one sliver by (epoch, version) and keep the
 * greatest; on a tie the record read first stays (the log decides).
 */
export function supersedes(candidate: WriteStamp, known: WriteStamp | undefined): boolean {
  if (!known) return true;
  if (candidate.epoch !== known.epoch) return candidate.epoch > known.epoch;
  return candidate.version > known.version;
}

/** Whether `a` and `b` are the same write (same writer, epoch and version). */
export function sameWrite(a: WriteStamp | undefined, b: WriteStamp): boolean {
  return a !== undefined && a.writer === b.writer && a.epoch === b.epoch && a.version === b.version;
}

export function emptyLedger(sliverId: string): SliverLedger {
  return { sliver_id: sliverId, version: 0, epoch: 0, writer: '', applied_sequence: -1, entries: [], digests: [], in_flight: null, updated_at: 0, closed_at: 0, applied: null };
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
 * The ledger with the event's answer recorded and its in-flight mark
 * cleared. The newest `limits.replies` answers keep their full reply; older
 * ones become digests, and only the newest `limits.entries` answers in all
 * are kept. REJECTED, STALE and CANCELLED answers given without running do
 * not move `applied_sequence`. A CLOSE answered OK marks the sliver closed
 * (`closed_at`) and clears the applied state; a REDEEM answered OK opens it
 * again. A REDEEM or MODIFY answered OK becomes the applied state (`applied`:
 * its encoded event, `answer.event`, and its reply), which the reconciler
 * probes against.
 */
export function recordAnswer(
  ledger: SliverLedger,
  event: SliverEvent,
  answer: { outcome: string; reply: Buffer; ran: boolean; event?: Buffer | null },
  writer: string,
  now: number,
  limits: LedgerLimits,
): SliverLedger {
  const answered = [
    ...ledger.entries.filter((e) => e.event_id !== event.event_id),
    { event_id: event.event_id, sequence: event.sequence, operation: event.operation, outcome: answer.outcome, finished_at: now, reply: answer.reply },
  ];
  const total = Math.max(1, limits.entries);
  const full = newest(answered, Math.max(1, Math.min(limits.replies, total)));
  const digests = newest(
    [...ledger.digests.filter((d) => d.event_id !== event.event_id), ...answered.slice(0, answered.length - full.length).map(digestOf)],
    total - full.length,
  );
  const ran = answer.ran && answer.outcome !== 'REJECTED' && answer.outcome !== 'STALE';
  const succeeded = ran && answer.outcome === 'OK';
  return {
    ...ledger,
    version: ledger.version + 1,
    writer,
    applied_sequence: ran ? Math.max(ledger.applied_sequence, event.sequence) : ledger.applied_sequence,
    entries: full,
    digests,
    in_flight: ledger.in_flight?.event_id === event.event_id || ran ? null : ledger.in_flight,
    updated_at: now,
    closed_at: succeeded && event.operation === 'CLOSE' ? now : succeeded && event.operation === 'REDEEM' ? 0 : ledger.closed_at,
    applied: shareReply(
      succeeded ? appliedAfter(ledger, event, answer.reply, answer.event ?? null, now) : (ledger.applied ?? null),
      full,
      appliedReply(ledger),
    ),
  };
}

/**
 * The reply of the applied state: in its answer's entry while that entry keeps its full reply (stored once),
 * else in `applied.reply`; null when neither has it (it did not fit `consumer.max_ledger_bytes`).
 */
export function appliedReply(ledger: Pick<SliverLedger, 'applied' | 'entries'>): Buffer | null {
  const applied = ledger.applied;
  if (!applied) return null;
  return applied.reply ?? ledger.entries.find((e) => e.event_id === applied.event_id)?.reply ?? null;
}

/** `applied` with its reply stored once: null while `entries` hold it in full, else the reply as known before. */
export function shareReply(applied: AppliedState | null, entries: readonly AppliedEvent[], known: Buffer | null): AppliedState | null {
  if (!applied) return null;
  if (entries.some((e) => e.event_id === applied.event_id)) return { ...applied, reply: null };
  return { ...applied, reply: applied.reply ?? known };
}

/** The applied state after `event` was answered OK. */
function appliedAfter(ledger: SliverLedger, event: SliverEvent, reply: Buffer, encoded: Buffer | null, now: number): AppliedState | null {
  if (event.operation === 'CLOSE') return null;
  if (event.operation !== 'REDEEM' && event.operation !== 'MODIFY') return ledger.applied ?? null;
  return { event_id: event.event_id, sequence: event.sequence, operation: event.operation, applied_at: now, event: encoded, reply };
}

/** Whether the sliver's last applied operation left it active (the reconciler probes exactly these). */
export function isActive(ledger: SliverLedger): boolean {
  return ledger.applied !== null && ledger.applied !== undefined && ledger.closed_at === 0;
}

/** The last `n` items of `items` (none when `n` <= 0). */
function newest<T>(items: T[], n: number): T[] {
  return n > 0 ? items.slice(-n) : [];
}
