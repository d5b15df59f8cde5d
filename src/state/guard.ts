import type { AvroCodec } from '../codec/codec.js';
import type { SliverEvent, SliverResult } from '../codec/types.js';
import type { ExecuteOptions, Executor } from '../dispatch/executor.js';
import { sleep } from '../dispatch/retry.js';
import { errorMessage } from '../errors/index.js';
import { buildResult } from '../results/builder.js';
import type { InFlight } from '../codec/types.js';
import { decide, emptyLedger, markInFlight, recordAnswer, type Decision } from './ledger.js';
import type { LedgerStore, Liveness } from './store.js';

/** The reply for one event: its encoded value (what goes on the reply topic) and the decoded result. */
export interface Answer {
  value: Buffer;
  result: SliverResult;
  /** True when the answer came from the ledger and nothing ran. */
  replayed: boolean;
}

export interface LedgerGuardOptions {
  executor: Executor;
  store: LedgerStore;
  codec: AvroCodec;
  /** This process's instance id (owner of the in-flight marks it writes). */
  instanceId: string;
  liveness: Liveness;
  /** Answers kept per sliver. */
  keep: number;
  /** How often to look again while another instance runs an operation on the sliver. */
  pollMs?: number;
  now?: () => number;
}

/**
 * Makes redelivery and replay safe: an event answered before gets its stored
 * reply again, a stale one is answered STALE, and only new events run. The
 * in-flight mark written before a run lets another instance (after a
 * rebalance) wait for it, and lets a restart find work a crash interrupted.
 */
export class LedgerGuard {
  private readonly now: () => number;

  constructor(private readonly o: LedgerGuardOptions) {
    this.now = o.now ?? Date.now;
  }

  /** What `answer` would do with the event now (for dry runs). */
  async decide(event: SliverEvent): Promise<Decision> {
    const ledger = this.o.store.get(event.sliver_id);
    const owner = ledger?.in_flight?.owner;
    const alive = owner !== undefined && owner !== this.o.instanceId ? await this.o.liveness(owner) : false;
    return decide(ledger, event, this.o.instanceId, () => alive);
  }

  async answer(event: SliverEvent, opts: ExecuteOptions): Promise<Answer> {
    for (;;) {
      const ledger = this.o.store.get(event.sliver_id);
      const decision = await this.decide(event);
      switch (decision.kind) {
        case 'duplicate': {
          const { value: result } = await this.o.codec.decode('result', decision.entry.reply);
          opts.logger.info({ outcome: result.outcome }, 'already answered: re-publishing the stored result, running nothing');
          return { value: decision.entry.reply, result, replayed: true };
        }
        case 'stale': {
          const at = this.now();
          const result = buildResult(event, {
            outcome: 'STALE',
            message: `sequence ${event.sequence} is older than the applied sequence ${decision.appliedSequence}: nothing ran`,
            startedAt: at,
            finishedAt: at,
            attempts: 0,
          });
          opts.logger.warn({ appliedSequence: decision.appliedSequence }, 'stale event answered, nothing ran');
          return this.record(event, result, false);
        }
        case 'wait': {
          opts.logger.info({ inFlight: decision.inFlight }, 'another instance is running an operation on this sliver; waiting');
          await sleep(this.o.pollMs ?? 1000, opts.signal ?? new AbortController().signal);
          if (opts.signal?.aborted) {
            const at = this.now();
            const result = buildResult(event, {
              outcome: 'CANCELLED',
              message: `cancelled while waiting for ${decision.inFlight.operation} ${decision.inFlight.event_id} on another instance: ${errorMessage(opts.signal.reason)}`,
              startedAt: at,
              finishedAt: at,
              attempts: 0,
            });
            return { value: this.o.codec.encode('result', result), result, replayed: false };
          }
          continue;
        }
        case 'run': {
          let reconciled: string | null = null;
          if (decision.interrupted) reconciled = await this.probeInterrupted(event, decision.interrupted, opts);
          await this.o.store.put(markInFlight(ledger ?? emptyLedger(event.sliver_id), event, this.o.instanceId, this.now()));
          const result = await this.o.executor.execute(event, opts);
          if (reconciled) result.message = `${reconciled}; ${result.message}`;
          return this.record(event, result, false);
        }
      }
    }
  }

  /**
   * An operation found in flight whose instance is gone: look at what exists
   * first (the handler's probe, if it has one) so the log and the result say
   * what the crash left; the run that follows is ensure-style and finishes
   * or cleans it up.
   */
  private async probeInterrupted(event: SliverEvent, interrupted: InFlight, opts: ExecuteOptions): Promise<string> {
    const probe = await this.o.executor.execute({ ...event, operation: 'PROBE' }, opts);
    const observed = probe.outcome === 'OK' ? (probe.sliver?.observed ?? 'UNKNOWN') : `not probed (${probe.outcome})`;
    opts.logger.warn(
      { interrupted, observed },
      `reconciling: ${interrupted.operation} ${interrupted.event_id} was interrupted (its instance is gone); found ${observed}, running ${event.operation} to finish or clean up`,
    );
    return `reconciled an interrupted ${interrupted.operation} (found ${observed})`;
  }

  /** Record the answer durably, then hand it out: a crash between the two re-publishes it from the ledger. */
  private async record(event: SliverEvent, result: SliverResult, replayed: boolean): Promise<Answer> {
    const value = this.o.codec.encode('result', result);
    const current = this.o.store.get(event.sliver_id) ?? emptyLedger(event.sliver_id);
    await this.o.store.put(recordAnswer(current, event, result.outcome, value, this.now(), this.o.keep));
    return { value, result, replayed };
  }
}
