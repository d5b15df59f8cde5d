import type { SliverEvent } from '../codec/types.js';
import type { Logger } from '../observability/logger.js';

interface Running {
  event: SliverEvent;
  partition: number;
  controller: AbortController;
}

interface Closing {
  eventId: string;
  sequence: number;
}

/**
 * The operations running now, so that one shutdown, one revoked partition
 * or one CLOSE can cancel exactly the ones it concerns. Nothing here
 * listens to a long-lived signal: the service calls `cancelAll` once,
 * instead of every operation adding a listener to the shutdown signal.
 *
 * It also remembers CLOSEs accepted and not yet answered: a REDEEM running
 * when a newer CLOSE arrives is cancelled (it cleans up what it made), and
 * events of the sliver still queued behind that CLOSE are answered
 * CANCELLED without running ("superseded by CLOSE <event_id>").
 */
export class RunningOps {
  private readonly running = new Map<string, Running>();
  private readonly closing = new Map<string, Closing>();
  /** Events accepted per sliver (by message key and by sliver id) and not yet at their fate. */
  private readonly held = new Map<string, number>();
  /** Reconciliation probes running now, per sliver: an event that arrives interrupts its sliver's probe. */
  private readonly probes = new Map<string, AbortController>();
  private cancelledAll: unknown = undefined;

  constructor(private readonly cancelCreateOnClose: boolean) {}

  get size(): number {
    return this.running.size;
  }

  /**
   * An event of sliver `key` is on its way (from the moment the consumer hands
   * its message over until it is answered): the sliver is busy, and a probe
   * of it running now is interrupted. Each `hold` is ended by one `release`.
   */
  hold(key: string): void {
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
    this.probes.get(key)?.abort(new Error('an event of the sliver arrived: the probe gives way'));
  }

  release(key: string): void {
    const n = (this.held.get(key) ?? 0) - 1;
    if (n > 0) this.held.set(key, n);
    else this.held.delete(key);
  }

  /** Whether an event of the sliver is queued or running here. */
  busy(sliverId: string): boolean {
    return this.held.has(sliverId) || this.running.has(sliverId);
  }

  /**
   * A probe of the sliver starts: the signal it runs under (aborted when an
   * event of the sliver arrives), or null when the sliver is busy (no probe).
   */
  probe(sliverId: string): { signal: AbortSignal; done: () => void } | null {
    if (this.busy(sliverId) || this.probes.has(sliverId)) return null;
    const controller = new AbortController();
    if (this.cancelledAll !== undefined) controller.abort(this.cancelledAll);
    this.probes.set(sliverId, controller);
    return {
      signal: controller.signal,
      done: () => {
        if (this.probes.get(sliverId) === controller) this.probes.delete(sliverId);
      },
    };
  }

  /** A decoded event was accepted, before it waits for its sliver's turn. */
  arrived(event: SliverEvent, logger: Logger): void {
    if (!this.cancelCreateOnClose || event.operation !== 'CLOSE') return;
    const known = this.closing.get(event.sliver_id);
    if (!known || known.sequence < event.sequence) this.closing.set(event.sliver_id, { eventId: event.event_id, sequence: event.sequence });
    const current = this.running.get(event.sliver_id);
    if (!current || current.event.sequence >= event.sequence || current.event.operation !== 'REDEEM') return;
    logger.warn({ cancelled: current.event.event_id }, `CLOSE supersedes the running ${current.event.operation}: cancelling it`);
    current.controller.abort(new Error(`superseded by CLOSE ${event.event_id} (sequence ${event.sequence})`));
  }

  /** The CLOSE that supersedes `event` (a newer CLOSE of its sliver, accepted and not yet answered), if any. */
  supersededBy(event: SliverEvent): Closing | null {
    if (event.operation === 'CLOSE') return null;
    const close = this.closing.get(event.sliver_id);
    return close && close.sequence > event.sequence ? close : null;
  }

  /** The event's operation starts: the controller of the signal it runs under (the caller aborts it too when its lease is lost). */
  start(event: SliverEvent, partition: number): AbortController {
    const controller = new AbortController();
    if (this.cancelledAll !== undefined) controller.abort(this.cancelledAll);
    this.running.set(event.sliver_id, { event, partition, controller });
    return controller;
  }

  finish(event: SliverEvent): void {
    if (this.running.get(event.sliver_id)?.event === event) this.running.delete(event.sliver_id);
  }

  /** The event was answered: a CLOSE no longer supersedes anything. */
  answered(event: SliverEvent): void {
    if (this.closing.get(event.sliver_id)?.eventId === event.event_id) this.closing.delete(event.sliver_id);
  }

  /** Partitions with operations running now. */
  partitions(): number[] {
    return [...new Set([...this.running.values()].map((r) => r.partition))];
  }

  cancelPartition(partition: number, reason: Error): number {
    let n = 0;
    for (const r of this.running.values()) {
      if (r.partition === partition) {
        r.controller.abort(reason);
        n++;
      }
    }
    return n;
  }

  /** Cancels everything running now and everything that starts later. */
  cancelAll(reason: Error): void {
    this.cancelledAll = reason;
    for (const r of this.running.values()) r.controller.abort(reason);
    for (const p of this.probes.values()) p.abort(reason);
  }
}
