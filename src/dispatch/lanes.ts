import PQueue from 'p-queue';

/**
 * Per-key serial lanes under one global concurrency bound: tasks with the
 * same key (a sliver id) run one at a time in the order they were added;
 * tasks with different keys run in parallel, at most `concurrency` at once.
 * A task waits for its lane before it takes a global slot, so a busy sliver
 * never holds a slot another sliver could use.
 */
export class KeyedLanes {
  private readonly queue: PQueue;
  private readonly tails = new Map<string, Promise<void>>();
  private pendingCount = 0;
  private peak = 0;

  constructor(concurrency: number) {
    this.queue = new PQueue({ concurrency });
    this.queue.on('active', () => {
      this.peak = Math.max(this.peak, this.queue.pending);
    });
  }

  /** Events queued or running. */
  get size(): number {
    return this.pendingCount;
  }

  /** Tasks running right now. */
  get running(): number {
    return this.queue.pending;
  }

  /** Highest number of tasks seen running at once. */
  get peakRunning(): number {
    return this.peak;
  }

  /** Keys with queued or running work. */
  get activeKeys(): number {
    return this.tails.size;
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    this.pendingCount++;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(() => this.queue.add(task) as Promise<T>);
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

  /** Resolves when nothing is queued or running. */
  async onIdle(): Promise<void> {
    while (this.pendingCount > 0) {
      await Promise.all([...this.tails.values()]);
    }
  }
}
