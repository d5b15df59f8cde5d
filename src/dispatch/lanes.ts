import PQueue from 'p-queue';
import { sleep } from '../lib/abort.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';

/**
 * Events per slot that may claim their lease ahead of it (`ahead`), at least: one claim per slot left the
 * slots waiting for claims (bench pipeline-throughput, concurrency 10: two gave 1.4x the events/s of one).
 */
export const MIN_AHEAD_PER_SLOT = 2;
/**
 * And at most: the leases held waiting stay bounded (renewed like any other; after a crash each is reconciled
 * before its event runs again, though it never started). Eight gave 1.24x the events/s of two with a no-op
 * handler (README "Batched writes", fourth pass).
 */
export const MAX_AHEAD_PER_SLOT = 8;
/** Weight of the newest sample in the moving averages of claim and run times. */
const SAMPLE_WEIGHT = 0.2;

/**
 * Events per slot to prepare ahead of it (claim their lease) so that a slot never waits for a claim: while a
 * run takes `runMs`, a claim takes `claimMs`, so by Little's law a slot needs 1 + claimMs / runMs events
 * prepared for it (one ready, the rest claiming). Between MIN_AHEAD_PER_SLOT (and that until a run has been
 * timed) and MAX_AHEAD_PER_SLOT: a playbook run of seconds against a claim of milliseconds gets the minimum;
 * only runs as short as a claim's round trip get more. Runs count as at least 1 ms.
 */
export function aheadPerSlot(claimMs: number, runMs: number): number {
  if (!(claimMs > 0) || !(runMs >= 0)) return MIN_AHEAD_PER_SLOT;
  return Math.min(MAX_AHEAD_PER_SLOT, Math.max(MIN_AHEAD_PER_SLOT, 1 + Math.ceil(claimMs / Math.max(runMs, 1))));
}

/**
 * Per-key serial lanes under one global concurrency bound. Tasks with the
 * same key (a sliver id) run one at a time in the order they were added;
 * the global bound applies only to the part of a task that holds a slot
 * (`withSlot`: the handler run). A task waiting for its lane, or waiting
 * inside its lane for another instance's lease, holds no slot, so busy or
 * blocked slivers never starve the others.
 *
 * An event's lease is claimed ahead of its slot (`ahead`): at most
 * `aheadPerSlot` events per slot (2 to 8, from the claim and run times seen)
 * claim, or hold a claim and wait for a slot, at a time, so a slot goes to an
 * event ready to run and never waits for a ledger round trip.
 *
 * Background work (reconciliation probes) takes a slot with
 * `withBackgroundSlot`: behind every event waiting for one, and only until
 * an event needs it. An event that finds every slot taken aborts the newest
 * running background task's signal (its playbook is killed) and gets the
 * slot it frees, so background work never adds its run time to an event's.
 * Background work started `idleOnly` (after `quiet` said so) yields to any
 * event at all: slots free or not, the CPU goes to events first.
 */
export class KeyedLanes {
  private readonly slots: PQueue;
  private readonly lanes = new KeyedMutex();
  private peak = 0;
  /** Events added and not started yet. */
  private eventsWaiting = 0;
  /** Running background tasks, oldest first. */
  private readonly background = new Set<AbortController>();
  /** Those of them that yield to any event (`idleOnly`). */
  private readonly idleOnly = new Set<AbortController>();
  /** Events waiting for or holding a slot. */
  private eventsActive = 0;
  /** When the last event gave its slot back (ms, `now`). */
  private lastEventAt = Number.NEGATIVE_INFINITY;
  /** Permits to prepare ahead of a slot (`ahead`) held, and the tasks waiting for one, oldest first. */
  private aheadHeld = 0;
  private readonly aheadWaiting: (() => void)[] = [];
  /** Moving averages (ms) of a claim (permit to `withSlot`) and of a run in the slot; NaN until the first. */
  private claimMs = Number.NaN;
  private runMs = Number.NaN;

  constructor(
    private readonly concurrency: number,
    private readonly now: () => number = Date.now,
  ) {
    this.slots = new PQueue({ concurrency });
    this.slots.on('active', () => {
      this.peak = Math.max(this.peak, this.slots.pending);
    });
  }

  /** Tasks queued or running in lanes. */
  get size(): number {
    return this.lanes.pending;
  }

  /** Tasks holding a slot right now. */
  get running(): number {
    return this.slots.pending;
  }

  /** Tasks waiting for a slot. */
  get waitingForSlot(): number {
    return this.slots.size;
  }

  /** Highest number of tasks seen holding a slot at once. */
  get peakRunning(): number {
    return this.peak;
  }

  /** Keys with queued or running work. */
  get activeKeys(): number {
    return this.lanes.keys;
  }

  /** Runs `task` in the lane of `key`, after every task added before it for that key. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return this.lanes.run(key, task);
  }

  /**
   * Runs `task` with one of `aheadPermits` permits to prepare ahead of a
   * slot: `task` does what must be done before it runs (an event claims its
   * lease), then calls `withSlot` for the run. The permit is given back when
   * that slot is taken (or when `task` ends without one), so at most that many
   * tasks prepare, or wait for a slot prepared, at a time. The time from the
   * permit to `withSlot`, and the run's, set how many permits there are.
   */
  async ahead<T>(task: (withSlot: <R>(run: () => Promise<R>) => Promise<R>) => Promise<T>): Promise<T> {
    this.eventArrived(); // an event on its way to a slot: idle-only background work yields now
    if (this.aheadHeld < this.aheadPermits) this.aheadHeld++;
    else await new Promise<void>((resolve) => this.aheadWaiting.push(resolve));
    const permitted = this.now();
    let held = true;
    const giveBack = (): void => {
      if (!held) return;
      held = false;
      this.aheadHeld--;
      this.grantAhead();
    };
    try {
      return await task((run) => {
        this.claimMs = average(this.claimMs, this.now() - permitted);
        return this.withSlot(async () => {
          giveBack();
          const started = this.now();
          try {
            return await run();
          } finally {
            this.runMs = average(this.runMs, this.now() - started);
            this.grantAhead(); // the bound may have grown
          }
        });
      });
    } finally {
      giveBack();
      this.eventDone();
    }
  }

  /** Permits of `ahead`: `aheadPerSlot` of the claim and run times seen, per slot. */
  get aheadPermits(): number {
    return aheadPerSlot(this.claimMs, this.runMs) * this.concurrency;
  }

  /** Hands free permits to the tasks waiting for one, oldest first. */
  private grantAhead(): void {
    while (this.aheadWaiting.length > 0 && this.aheadHeld < this.aheadPermits) {
      this.aheadHeld++;
      (this.aheadWaiting.shift() as () => void)();
    }
  }

  /** Tasks holding a permit of `ahead` and no slot yet (claiming, or claimed and waiting). */
  get preparing(): number {
    return this.aheadHeld;
  }

  /**
   * Runs `task` holding one of the global slots. Of the tasks waiting for a
   * slot, a higher `priority` gets it first (events 0, reconciliation probes
   * below), in the order they were added within a priority.
   */
  withSlot<T>(task: () => Promise<T>, priority = 0): Promise<T> {
    this.eventsWaiting++;
    this.eventArrived();
    let started = false;
    const result = this.slots.add(
      () => {
        started = true;
        this.eventsWaiting--;
        return task();
      },
      { priority },
    ) as Promise<T>;
    if (!started) this.preemptFor();
    void result.then(this.eventDone, this.eventDone);
    return result;
  }

  private eventArrived(): void {
    this.eventsActive++;
    for (const c of this.idleOnly) c.abort(new Error('preempted: an event arrived'));
  }

  private readonly eventDone = (): void => {
    this.eventsActive--;
    this.lastEventAt = this.now();
  };

  /** Whether no event has waited for or held a slot for the last `forMs`. */
  isQuiet(forMs: number): boolean {
    return this.eventsActive === 0 && this.now() - this.lastEventAt >= forMs;
  }

  /**
   * Resolves true at the first moment the lanes have been quiet (`isQuiet`) for `forMs`, or false once
   * `until` (ms, `now`) has passed first or `signal` is aborted. Polls every `pollMs`.
   */
  async quiet(forMs: number, until: number, signal: AbortSignal, pollMs = 100): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      if (this.isQuiet(forMs)) return true;
      if (this.now() >= until) return false;
      await sleep(Math.min(pollMs, Math.max(1, until - this.now())), signal);
    }
  }

  /**
   * Runs background `task` holding a slot it gives up to events: it starts
   * only when no event waits for a slot, and its `signal` is aborted when an
   * event finds every slot taken (the task must then end soon: its slot goes
   * to the event); with `idleOnly`, as soon as any event arrives, slots free
   * or not. Never preempts another background task.
   */
  withBackgroundSlot<T>(task: (signal: AbortSignal) => Promise<T>, options: { priority?: number; idleOnly?: boolean } = {}): Promise<T> {
    return this.slots.add(
      async () => {
        const controller = new AbortController();
        this.background.add(controller);
        if (options.idleOnly) {
          this.idleOnly.add(controller);
          if (this.eventsActive > 0) controller.abort(new Error('preempted: an event arrived'));
        }
        try {
          return await task(controller.signal);
        } finally {
          this.background.delete(controller);
          this.idleOnly.delete(controller);
        }
      },
      { priority: Math.min(options.priority ?? -1, -1) },
    ) as Promise<T>;
  }

  /** Asks background tasks to yield, newest first, until each waiting event has a slot to come. */
  private preemptFor(): void {
    let yielding = 0;
    for (const c of this.background) if (c.signal.aborted) yielding++;
    const newestFirst = [...this.background].reverse();
    for (const c of newestFirst) {
      if (yielding >= this.eventsWaiting) return;
      if (c.signal.aborted) continue;
      c.abort(new Error('preempted: an event needs the slot'));
      yielding++;
    }
  }

  /** Whether `key` has work queued or running in its lane. */
  has(key: string): boolean {
    return this.lanes.has(key);
  }

  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void> {
    return this.lanes.idle();
  }
}

/** `previous` moved towards `sample` by SAMPLE_WEIGHT (the sample itself when there is no previous). */
function average(previous: number, sample: number): number {
  return Number.isNaN(previous) ? sample : previous + SAMPLE_WEIGHT * (sample - previous);
}
