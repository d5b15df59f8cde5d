/**
 * Serialises async work per key: a task starts once every task added before
 * it for the same key has ended (fulfilled or rejected), and a failure ends
 * only its own task. A key with nothing queued is forgotten.
 *
 * On the hot path (two ledger updates and one lane per event): a task of a
 * free key starts at once, in the caller's turn, and each task costs one
 * promise of its own besides the task's (its tail, which also forgets the key).
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();
  private count = 0;

  /** Tasks queued or running. */
  get pending(): number {
    return this.count;
  }

  /** Keys with a task queued or running. */
  get keys(): number {
    return this.tails.size;
  }

  /** Whether `key` has a task queued or running. */
  has(key: string): boolean {
    return this.tails.has(key);
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    this.count++;
    const previous = this.tails.get(key);
    const result = previous ? previous.then(task) : startNow(task);
    const release = (): void => {
      this.count--;
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    const tail = result.then(release, release);
    this.tails.set(key, tail);
    return result;
  }

  /** Resolves when no task is queued or running (including tasks added meanwhile). */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}

/** `task()`, with a synchronous throw turned into a rejection. */
function startNow<T>(task: () => Promise<T>): Promise<T> {
  try {
    return task();
  } catch (err) {
    return Promise.reject(err);
  }
}
