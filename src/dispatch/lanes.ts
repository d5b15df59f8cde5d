import PQueue from 'p-queue';

/**
 * Per-key serial lanes under one global concurrency bound. Tasks with the
 * same key (a sliver id) run one at a time in the order they were added;
 * the global bound applies only to the part of a task that holds a slot
 * (`withSlot`: the handler run). A task waiting for its lane, or waiting
 * inside its lane for another instance's lease, holds no slot, so busy or
 * blocked slivers never starve the others.
 */
export class KeyedLanes {
  private readonly slots: PQueue;
  private readonly tails = new Map<string, Promise<void>>();
  private pendingCount = 0;
  private peak = 0;

  constructor(concurrency: number) {
    this.slots = new PQueue({ concurrency });
    this.slots.on('active', () => {
      this.peak = Math.max(this.peak, this.slots.pending);
    });
  }

  /** Tasks queued or running in lanes. */
  get size(): number {
    return this.pendingCount;
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
    return this.tails.size;
  }

  /** Runs `task` in the lane of `key`, after every task added before it for that key. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    this.pendingCount++;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      this.pendingCount--;
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /**
   * Runs `task` holding one of the global slots. Of the tasks waiting for a
   * slot, a higher `priority` gets it first (events 0, reconciliation probes
   * below), in the order they were added within a priority.
   */
  withSlot<T>(task: () => Promise<T>, priority = 0): Promise<T> {
    return this.slots.add(task, { priority }) as Promise<T>;
  }

  /** Whether `key` has work queued or running in its lane. */
  has(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves when nothing is queued or running. */
  async onIdle(): Promise<void> {
    while (this.pendingCount > 0) {
      await Promise.all([...this.tails.values()]);
    }
  }
}
