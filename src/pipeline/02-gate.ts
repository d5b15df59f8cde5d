import type { AvroCodec } from '../codec/codec.js';
import type { AnswerDigest, Outcome, SliverEvent, SliverLedger, SliverResult } from '../codec/types.js';
import { AmhError, errorMessage } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import type { ParsedConfig } from '../config/schema.js';

type ConsumerConfig = ParsedConfig['consumer'];
import { buildResult } from '../results/builder.js';
import { encodeFitted } from '../results/fit.js';
import { appliedReply, claim, decide, digestOf, shareReply, emptyLedger, leaseExpiry, recordAnswer, release, renew, type Decision } from '../state/ledger.js';
import { encodeState } from '../state/encoded.js';
import type { LedgerStore } from '../state/store.js';
import { sleep } from '../lib/abort.js';

/** The lease on a sliver was taken over by another owner, or could not be renewed before it expired. */
export class LeaseLostError extends AmhError {
  override readonly code = 'LEASE_LOST';
}

/** The reply for one event: its encoded value (what goes on the reply topic) and the decoded result. */
export interface Answer {
  value: Buffer;
  result: SliverResult;
  /** True when the answer came from the ledger and nothing ran. */
  replayed: boolean;
}

export interface LedgerGateOptions {
  store: LedgerStore;
  codec: AvroCodec;
  /** Owner of the leases this process takes (`amh run` or `amh replay`). */
  instanceId: string;
  /** Answered events remembered per sliver, full replies and digests together (`consumer.ledger_entries`). */
  keep: number;
  /** Of those, the newest kept with their full reply (`consumer.ledger_replies`). */
  replies: number;
  /** A closed sliver's ledger expires this long after its CLOSE; older events of a sliver without a ledger are STALE (`consumer.ledger_retention`). */
  retentionMs: number;
  leaseTtlMs: number;
  maxReplyBytes: number;
  /** A ledger record larger than this turns its oldest full replies into digests, then drops its oldest digests. */
  maxRecordBytes: number;
  logger: Logger;
  now?: () => number;
}

/**
 * Step 2: the ledger gate. Decides from the sliver's ledger whether an event
 * is a duplicate, stale, must wait for another owner's lease, or runs; takes
 * the lease (a fenced claim) before a run, renews it while the operation
 * runs, and records the answer under it. Every write goes through the store's
 * read-back, so what this instance believes is what the log says.
 */
export class LedgerGate {
  readonly now: () => number;
  private readonly guards = new Map<string, (ledger: SliverLedger | undefined) => string | null>();

  constructor(private readonly o: LedgerGateOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The gate with the `consumer.*` settings of the configuration. */
  static fromConfig(
    consumer: Pick<ConsumerConfig, 'ledger_entries' | 'ledger_replies' | 'ledger_retention' | 'lease_ttl' | 'max_reply_bytes' | 'max_ledger_bytes'>,
    deps: Pick<LedgerGateOptions, 'store' | 'codec' | 'instanceId' | 'logger'>,
  ): LedgerGate {
    return new LedgerGate({
      ...deps,
      keep: consumer.ledger_entries,
      replies: consumer.ledger_replies,
      retentionMs: consumer.ledger_retention,
      leaseTtlMs: consumer.lease_ttl,
      maxReplyBytes: consumer.max_reply_bytes,
      maxRecordBytes: consumer.max_ledger_bytes,
    });
  }

  get instanceId(): string {
    return this.o.instanceId;
  }

  decide(event: SliverEvent): Decision {
    const ledger = this.o.store.get(event.sliver_id);
    const blocked = this.blocked(event, ledger);
    if (blocked !== null) return { kind: 'stale', reason: blocked, unrecorded: true };
    return decide(ledger, event, this.o.instanceId, this.now(), this.o.retentionMs);
  }

  /**
   * While set, the event `eventId` (a repair) runs only while `guard` finds
   * nothing against the sliver's ledger: checked when it is decided and again
   * inside its claim, so it is decided under the lease. Otherwise it is
   * answered STALE with the guard's reason, and nothing is recorded. Returns
   * the function that removes the guard.
   */
  guard(eventId: string, guard: (ledger: SliverLedger | undefined) => string | null): () => void {
    this.guards.set(eventId, guard);
    return () => this.guards.delete(eventId);
  }

  private blocked(event: SliverEvent, ledger: SliverLedger | undefined): string | null {
    return this.guards.get(event.event_id)?.(ledger) ?? null;
  }

  /**
   * The answer to a duplicate whose full reply is no longer kept: a reply
   * rebuilt from its digest (the recorded outcome, `sliver: null`), saying so.
   * Nothing runs and nothing is recorded.
   */
  fromDigest(event: SliverEvent, digest: AnswerDigest): Answer {
    const at = new Date(digest.finished_at).toISOString();
    const message = `already answered ${digest.outcome} at ${at}; the full reply is no longer kept (consumer.ledger_replies)`;
    return { ...this.unrecorded(event, digest.outcome as Outcome, message, digest.finished_at), replayed: true };
  }

  /** An answer given without running, not recorded in the ledger (see the decisions that ask for it). */
  unrecorded(event: SliverEvent, outcome: Outcome, message: string, at: number = this.now()): Answer {
    const result = buildResult(event, { outcome, message, startedAt: at, finishedAt: at, attempts: 0 });
    const { value, result: fitted } = encodeFitted(this.o.codec, result, this.o.maxReplyBytes);
    return { value, result: fitted, replayed: false };
  }

  /** Waits, without holding anything, until the sliver's ledger changes, `untilMs` passes, or `signal` aborts. */
  async waitForChange(sliverId: string, untilMs: number, signal: AbortSignal): Promise<void> {
    const stamp = (l: SliverLedger | undefined): string => (l ? `${l.writer}/${l.epoch}/${l.version}` : '');
    const before = stamp(this.o.store.get(sliverId));
    // Compared by (writer, epoch, version): a store may hand out a fresh object on every read.
    while (!signal.aborted && this.now() < untilMs && stamp(this.o.store.get(sliverId)) === before) {
      await sleep(Math.min(250, Math.max(1, untilMs - this.now())), signal);
    }
  }

  /** Takes the lease for `event`, or returns null when the ledger says otherwise now (decide again). */
  async claim(event: SliverEvent, logger: Logger): Promise<Lease | null> {
    const { won, current } = await this.o.store.update(event.sliver_id, (ledger) => {
      if (this.blocked(event, ledger) !== null) return null;
      if (decide(ledger, event, this.o.instanceId, this.now(), this.o.retentionMs).kind !== 'run') return null;
      return claim(ledger ?? emptyLedger(event.sliver_id), event, this.o.instanceId, this.now(), this.o.leaseTtlMs);
    });
    if (!won || !current) return null;
    return new Lease(this, this.o.store, event, current.epoch, this.o.leaseTtlMs, logger);
  }

  /**
   * Records the answer. With a lease, only while the lease is still ours;
   * without one (answers given without running), only while no other owner
   * holds a live lease, unless `evenIfHeld` (an answer given while waiting
   * for that owner: its mark stays as it is). Null when that no longer holds
   * (decide again). A write that lost a tie to another record is retried on
   * top of it.
   */
  async record(event: SliverEvent, result: SliverResult, opts: { ran: boolean; lease?: Lease; evenIfHeld?: boolean }): Promise<Answer | null> {
    const { value, result: fitted } = encodeFitted(this.o.codec, result, this.o.maxReplyBytes);
    // What the reconciler needs later: the event that made the sliver what it is.
    const applies = opts.ran && fitted.outcome === 'OK' && (event.operation === 'REDEEM' || event.operation === 'MODIFY');
    const allowed = (current: SliverLedger): boolean =>
      opts.lease ? opts.lease.holds(current) : opts.evenIfHeld === true || !this.heldByOther(current);
    for (;;) {
      const { won, current } = await this.o.store.update(event.sliver_id, (ledger) => {
        const base = ledger ?? emptyLedger(event.sliver_id);
        if (!allowed(base)) return null;
        return this.fit(recordAnswer(base, event, { outcome: fitted.outcome, reply: value, ran: opts.ran, event: applies ? this.o.codec.encode('event', event) : null }, this.o.instanceId, this.now(), { entries: this.o.keep, replies: this.o.replies }));
      }, { confirm: opts.lease ? 'ack' : 'read-back' });
      if (won) return { value, result: fitted, replayed: false };
      if (!current || !allowed(current)) return null;
    }
  }

  /** Gives the lease up without an answer (its operation was stopped before it ended). */
  async release(lease: Lease): Promise<void> {
    await this.o.store.update(
      lease.event.sliver_id,
      (ledger) => (ledger && lease.holds(ledger) ? release(ledger, this.o.instanceId, this.now()) : null),
      { confirm: 'ack' },
    );
  }

  renewed(ledger: SliverLedger): SliverLedger {
    return renew(ledger, this.now(), this.o.leaseTtlMs);
  }

  private heldByOther(ledger: SliverLedger): boolean {
    const flight = ledger.in_flight;
    return flight !== null && flight.owner !== this.o.instanceId && leaseExpiry(flight) > this.now();
  }

  /**
   * Keeps a record under `maxRecordBytes`: turns its oldest full replies into
   * digests first (never the newest one), then drops its oldest digests. The
   * applied state goes last, and only in part: its reply first (the
   * reconciler then compares the probe's own verdict), then its event (the
   * sliver is then not reconciled); both are logged.
   */
  private fit(record: SliverLedger): SliverLedger {
    let fitted = record;
    while (encodeState(this.o.codec, fitted).length > this.o.maxRecordBytes) {
      const [oldest, ...rest] = fitted.entries;
      const applied = fitted.applied;
      if (oldest && rest.length > 0) fitted = { ...fitted, entries: rest, digests: [...fitted.digests, digestOf(oldest)], applied: shareReply(applied, rest, appliedReply(fitted)) };
      else if (fitted.digests.length > 0) fitted = { ...fitted, digests: fitted.digests.slice(1) };
      else if (applied?.reply) {
        this.o.logger.warn({ sliverId: record.sliver_id, maxLedgerBytes: this.o.maxRecordBytes }, 'ledger too large: the applied reply is not kept (drift is judged by the probe alone)');
        fitted = { ...fitted, applied: { ...applied, reply: null } };
      } else if (applied?.event) {
        this.o.logger.warn({ sliverId: record.sliver_id, maxLedgerBytes: this.o.maxRecordBytes }, 'ledger too large: the applied event is not kept (the sliver is not reconciled)');
        fitted = { ...fitted, applied: { ...applied, event: null } };
      } else break;
    }
    return fitted;
  }
}

/**
 * A lease on one sliver for one event: renewed every quarter of its TTL while
 * the operation runs. It is lost when another owner took the sliver over (a
 * higher epoch) or when renewing failed until the lease expired: `isLost`
 * says so and `onLost` listeners hear it. Listeners rather than an
 * AbortSignal: every event takes a lease, and its signal, with the controller
 * that linked it to the operation's, showed in the pipeline's profile.
 */
export class Lease {
  private lostWith: LeaseLostError | null = null;
  /** Made on first `onLost` (one per running operation): most leases are taken and stopped without one. */
  private listeners: Set<(reason: LeaseLostError) => void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private expiresAt: number;
  private renewing: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly gate: LedgerGate,
    private readonly store: LedgerStore,
    readonly event: SliverEvent,
    readonly epoch: number,
    ttlMs: number,
    private readonly logger: Logger,
  ) {
    this.expiresAt = gate.now() + ttlMs;
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => (this.renewing = null));
    }, Math.max(50, Math.floor(ttlMs / 4)));
    this.timer.unref();
  }

  /** Whether another owner took the sliver over, or renewing failed until the lease expired. */
  get isLost(): boolean {
    return this.lostWith !== null;
  }

  /** Calls `listener` once, when the lease is lost (now, if it is already); returns what removes it. */
  onLost(listener: (reason: LeaseLostError) => void): () => void {
    if (this.lostWith) {
      listener(this.lostWith);
      return () => {};
    }
    const listeners = (this.listeners ??= new Set());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Whether `ledger` is still under this lease. */
  holds(ledger: SliverLedger): boolean {
    return !this.isLost && ledger.epoch === this.epoch && ledger.in_flight?.owner === this.gate.instanceId && ledger.in_flight.event_id === this.event.event_id;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.renewing;
  }

  private async renew(): Promise<void> {
    if (this.stopped || this.isLost) return;
    try {
      const { won, current } = await this.store.update(this.event.sliver_id, (ledger) => {
        if (this.stopped || !ledger || !this.holds(ledger) || this.gate.now() >= this.expiresAt) return null;
        return this.gate.renewed(ledger);
      }, { confirm: 'ack' });
      if (won && current?.in_flight) {
        this.expiresAt = current.in_flight.expires_at;
        return;
      }
      if (this.stopped) return;
      // Lost a tie to another record of our own epoch (e.g. an answer recorded beside our mark): try again next time.
      if (current && this.holds(current) && this.gate.now() < this.expiresAt) return;
      const holder = current?.in_flight?.owner ?? 'nobody';
      this.lose(`lease on ${this.event.sliver_id} lost: the ledger is now at epoch ${current?.epoch ?? '?'} held by ${holder}`);
    } catch (err) {
      // Unable to renew until the lease ran out: another instance may take the sliver over now, so stop.
      if (this.gate.now() >= this.expiresAt) this.lose(`lease on ${this.event.sliver_id} expired: renewing failed (${errorMessage(err)})`);
      else this.logger.warn({ err }, 'lease renewal failed; retrying before it expires');
    }
  }

  private lose(reason: string): void {
    clearInterval(this.timer);
    this.logger.error(reason);
    const lost = (this.lostWith = new LeaseLostError(reason));
    for (const listener of this.listeners ?? []) listener(lost);
    this.listeners = null;
  }
}
