import type { AvroCodec } from '../codec/codec.js';
import type { DriftRepair, DriftReport, SliverEvent, SliverLedger, SliverResult, SliverState } from '../codec/types.js';
import type { RepairPolicy } from '../config/index.js';
import { FatalError, errorMessage } from '../errors/index.js';
import { linkSignals, sleep } from '../lib/abort.js';
import { eventLogger } from '../observability/event-logger.js';
import type { ProbeOutcome, ServiceEvents, TypedEmitter } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import { isActive, leaseExpiry } from '../state/ledger.js';
import { appliedOf, judge, probeEventOf } from './judge.js';
import { probeTime } from './schedule.js';

/** What the reconciler needs of the ledgers: those of one partition, and one sliver's now. */
export interface ReconcilerStore {
  ledgersOf(partition: number): Iterable<SliverLedger>;
  get(sliverId: string): SliverLedger | undefined;
}

/** What the reconciler needs to know of the slivers' events (RunningOps). */
export interface BusySlivers {
  busy(sliverId: string): boolean;
  probe(sliverId: string): { signal: AbortSignal; done: () => void } | null;
}

export interface ReconcilerHandler {
  name: string;
  repair: RepairPolicy;
  canProbe: boolean;
}

/** A sliver to repair: the event to re-run is built from its applied state. */
export interface RepairRequest {
  applied: SliverEvent;
  state: SliverState | null;
  ledger: SliverLedger;
  partition: number;
}

export interface ReconcilerOptions {
  store: ReconcilerStore;
  /** Partitions owned now whose ledgers are restored. */
  partitions: () => number[];
  /** Whether the partition is still ours (checked before each probe). */
  owns: (partition: number) => boolean;
  running: BusySlivers;
  /** Runs a PROBE through the executor (handler, playbook runner, timeouts). Always resolves with a result. */
  execute: (event: SliverEvent, opts: { logger: Logger; signal: AbortSignal }) => Promise<SliverResult>;
  /**
   * Runs `task` holding one of the global concurrency slots, behind the events waiting for one; `signal` is
   * aborted when an event needs the slot (KeyedLanes.withBackgroundSlot): the probe is killed and yields it.
   */
  withSlot: <T>(task: (signal: AbortSignal) => Promise<T>, options: { idleOnly: boolean }) => Promise<T>;
  /**
   * Resolves true at a quiet moment (no event for a while: KeyedLanes.quiet), false once `until` passed: a
   * probe waits for one, runs `idleOnly` (it yields to any event, and waits again), and runs anyway once it is
   * a whole interval late. Without it, every probe runs at its time.
   */
  waitForQuiet?: (until: number, signal: AbortSignal) => Promise<boolean>;
  codec: AvroCodec;
  /** The handler of a resource type, or null when none serves it (any more). */
  handlerOf: (resourceType: string) => ReconcilerHandler | null;
  /** Publishes a report on the drift topic (may throw: logged, the next probe reports again). */
  publish: (report: DriftReport) => Promise<void>;
  /** Re-runs the applied create through the pipeline (lanes, lease, ledger, reply). */
  repair: (request: RepairRequest) => Promise<DriftRepair>;
  intervalMs: number;
  /** Probes running at once (`reconcile.share` of `consumer.concurrency`, at least 1). */
  maxProbes: number;
  instanceId: string;
  /** Where the events topic is, for the probe's log lines. */
  topic: string;
  logger: Logger;
  events: TypedEmitter<ServiceEvents>;
  /** The reconciler cannot go on (it crashed `maxCrashes` times in a row, or a fatal error): the service stops. */
  onFatal: (err: FatalError) => void;
  maxCrashes?: number;
  now?: () => number;
}

/**
 * Drift detection: one pass per `intervalMs` over the active slivers (last
 * applied REDEEM or MODIFY answered OK, not closed) of the partitions this
 * instance owns, each probed once, spread evenly over the pass. A probe runs
 * the handler's PROBE with the applied event, holding one of at most
 * `maxProbes` global slots, behind any event waiting for one. It waits for a
 * quiet moment (`waitForQuiet`) and then yields to any event that arrives
 * (killed, it waits for the next quiet moment); once it is a whole interval
 * late it runs regardless, and then only until an event finds every slot
 * taken (killed: `preempted`, probed again at the next pass). A sliver with
 * an event queued or running (or another instance's lease) is not probed; an
 * event that arrives during a probe interrupts it and its result is dropped.
 * A probe that differs from the applied state is a drift report (topic, log,
 * metrics, status page) and, where the handler's `repair` policy allows it,
 * a repair.
 *
 * Supervised: a pass that throws is logged and started again after a pause;
 * `maxCrashes` in a row, or a FatalError, stop the service (`onFatal`).
 * `stop()` is idempotent and kills running probes (AbortSignal down to the
 * playbook).
 */
export class Reconciler {
  private readonly stopController = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private stoppedOnce: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: ReconcilerOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.loop ??= this.supervise();
  }

  /** Stops the passes and kills running probes; resolves when everything ended. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopController.abort(new Error('the service is stopping'));
      await this.loop;
      await Promise.allSettled([...this.inFlight]);
    })();
    return this.stopping;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async supervise(): Promise<void> {
    const maxCrashes = this.o.maxCrashes ?? 5;
    let crashes = 0;
    while (!this.stopped) {
      try {
        await this.pass();
        crashes = 0;
      } catch (err) {
        if (this.stopped) return;
        crashes++;
        if (err instanceof FatalError || crashes >= maxCrashes) {
          const fatal = err instanceof FatalError ? err : new FatalError(`the reconciler crashed ${crashes} times in a row: ${errorMessage(err)}`, { cause: err });
          this.o.logger.fatal({ err }, 'reconciler stopped');
          this.o.onFatal(fatal);
          return;
        }
        const pause = Math.min(60_000, 1_000 * 2 ** (crashes - 1));
        this.o.logger.error({ err, crashes, pauseMs: pause }, 'reconciliation pass crashed; starting again after a pause');
        await sleep(pause, this.stopController.signal);
      }
    }
  }

  /** One pass: every active sliver owned now, once, spread over the interval. */
  async pass(): Promise<void> {
    const start = this.now();
    const due = this.activeSlivers();
    for (const [index, sliver] of due.entries()) {
      const at = probeTime(start, index, due.length, this.o.intervalMs);
      await this.until(at);
      if (this.stopped) return;
      if (!this.o.owns(sliver.partition)) continue;
      while (this.inFlight.size >= this.o.maxProbes && !this.stopped) await Promise.race([...this.inFlight, this.stoppedPromise()]);
      if (this.stopped) return;
      const probe = this.probeOne(sliver.sliverId, sliver.partition, at + this.o.intervalMs).finally(() => this.inFlight.delete(probe));
      this.inFlight.add(probe);
    }
    await this.until(start + this.o.intervalMs);
  }

  private activeSlivers(): { sliverId: string; partition: number }[] {
    const due: { sliverId: string; partition: number }[] = [];
    for (const partition of this.o.partitions()) {
      for (const ledger of this.o.store.ledgersOf(partition)) if (isActive(ledger)) due.push({ sliverId: ledger.sliver_id, partition });
    }
    return due;
  }

  /**
   * Probes one sliver (in a quiet moment, or regardless once `overdueAt` passed) and reports (and repairs)
   * what it finds. Never throws, except a FatalError (via onFatal).
   */
  private async probeOne(sliverId: string, partition: number, overdueAt: number): Promise<void> {
    const startedAt = this.now();
    let resourceType = '';
    const done = (outcome: ProbeOutcome): void => this.o.events.emit('probed', { sliverId, resourceType, outcome, durationMs: this.now() - startedAt });
    try {
      const ledger = this.o.store.get(sliverId);
      if (!ledger || !isActive(ledger) || !ledger.applied) return;
      const flight = ledger.in_flight;
      if ((flight && leaseExpiry(flight) > this.now()) || this.o.running.busy(sliverId)) return done('busy');
      const was = await appliedOf(this.o.codec, ledger);
      if (!was) return done('unsupported');
      const { event: applied, state } = was;
      resourceType = applied.resource_type;
      const handler = this.o.handlerOf(applied.resource_type);
      if (!handler?.canProbe) return done('unsupported');
      const probeEvent = probeEventOf(applied, startedAt);
      const logger = eventLogger(this.o.logger, probeEvent, { topic: this.o.topic, partition, offset: '-1' });
      const attempt = (idleOnly: boolean) =>
        this.o.withSlot(
          async (preempt) => {
            const hold = this.o.running.probe(sliverId);
            if (!hold) return 'busy' as const;
            // Closed, or changed by an event answered while this waited for the slot or a quiet moment: not ours to probe now.
            const current = this.o.store.get(sliverId);
            if (!current || !isActive(current) || current.applied?.event_id !== ledger.applied?.event_id) {
              hold.done();
              return 'moved' as const;
            }
            const signal = linkSignals(hold.signal, this.stopController.signal, preempt);
            try {
              if (signal.signal.aborted) return preempt.aborted ? ('preempted' as const) : ('interrupted' as const);
              const result = await this.o.execute(probeEvent, { logger, signal: signal.signal });
              if (hold.signal.aborted || this.stopped) return 'interrupted' as const;
              return preempt.aborted ? ('preempted' as const) : result;
            } finally {
              signal.dispose();
              hold.done();
            }
          },
          { idleOnly },
        );
      let outcome: Awaited<ReturnType<typeof attempt>>;
      for (;;) {
        // Idle time first: an event arriving kills an idle-only probe, which then waits for the next quiet moment.
        const idle = (await this.o.waitForQuiet?.(overdueAt, this.stopController.signal)) ?? false;
        if (this.stopped) return done('interrupted');
        outcome = await attempt(idle);
        if (!(idle && outcome === 'preempted')) break;
      }
      if (outcome === 'moved') return; // nothing was probed: nothing to say (the next pass looks at it again)
      if (typeof outcome === 'string') return done(outcome);
      // The applied state moved while the probe ran (an event answered in between): judge nothing.
      if (this.o.store.get(sliverId)?.applied?.event_id !== ledger.applied.event_id) return done('interrupted');
      if (outcome.outcome !== 'OK' || !outcome.sliver) {
        logger.warn({ outcome: outcome.outcome }, `reconciliation probe ${outcome.outcome}: ${outcome.message}`);
        return done('failed');
      }
      const judged = judge(ledger, was, { sliver: outcome.sliver }, { handler: handler.name, instanceId: this.o.instanceId, now: this.now() });
      if (!judged) return done('in_sync');
      done('drift');
      const { verdict, report } = judged;
      logger.warn({ observed: verdict.observed, differences: verdict.differences }, `drift: ${verdict.differences.join('; ')}`);
      await this.report(report, logger);
      const allowed = verdict.observed === 'MISSING' ? handler.repair.missing : handler.repair.degraded;
      if (!allowed || this.stopped) return;
      const repair = await this.o.repair({ applied, state, ledger, partition });
      logger.info({ repair }, `repair ${repair.action} ${repair.outcome}: ${repair.message}`);
      await this.report({ ...report, detected_at: this.now(), repair }, logger);
    } catch (err) {
      if (err instanceof FatalError) {
        this.o.onFatal(err);
        return;
      }
      this.o.logger.error({ err, sliverId }, 'reconciling a sliver failed; it is probed again at the next pass');
      done('failed');
    }
  }

  private async report(report: DriftReport, logger: Logger): Promise<void> {
    this.o.events.emit('drift', { report });
    try {
      await this.o.publish(report);
    } catch (err) {
      logger.error({ err }, 'drift report not published (the next probe reports again)');
    }
  }

  private async until(at: number): Promise<void> {
    const wait = at - this.now();
    if (wait > 0) await sleep(wait, this.stopController.signal);
  }

  private stoppedPromise(): Promise<void> {
    this.stoppedOnce ??= new Promise((resolve) => {
      if (this.stopped) resolve();
      else this.stopController.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    return this.stoppedOnce;
  }
}
