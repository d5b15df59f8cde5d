// Small AbortSignal helpers shared by the pipeline, the executor and the Kafka edge.
/**
 * One AbortSignal that aborts when any of `signals` does, with the reason of
 * the first. Unlike `AbortSignal.any`, `dispose()` removes every listener, so
 * linking a short-lived operation to a long-lived signal leaves nothing behind
 * (on Node 20 `AbortSignal.any` keeps a WeakRef per call: nodejs/node#55351).
 */
export function linkSignals(...signals: (AbortSignal | undefined)[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const sources = signals.filter((s): s is AbortSignal => s !== undefined);
  const onAbort = (event: Event): void => {
    controller.abort((event.target as AbortSignal).reason);
    dispose();
  };
  const dispose = (): void => {
    for (const s of sources) s.removeEventListener('abort', onAbort);
  };
  for (const s of sources) {
    if (s.aborted) {
      controller.abort(s.reason);
      dispose();
      break;
    }
    s.addEventListener('abort', onAbort, { once: true });
  }
  return { signal: controller.signal, dispose };
}

/** Sleep `ms`, ending early when `signal` aborts (resolves either way; the caller checks the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** An operation's deadline: its signal, whether the deadline passed (until `dispose`), and `dispose` (clears the timer). */
export interface Deadline {
  signal: AbortSignal;
  readonly timedOut: boolean;
  dispose: () => void;
}

/**
 * A signal that aborts after `ms` (reason: a `TimeoutError` DOMException, as `AbortSignal.timeout`'s) or when
 * `parent` does (its reason). `timedOut` says which. Unlike `AbortSignal.timeout` + `AbortSignal.any`,
 * `timedOut` is whether the deadline passed (before `dispose`), whoever aborted first. `dispose()` clears the timer and the listener at once: one cheap controller per operation on the hot path.
 */
export function deadlineSignal(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  // The timer keeps running after the parent aborted: `timedOut` then still says whether the deadline passed too.
  const onAbort = (): void => controller.abort(parent?.reason);
  const unlink = (): void => parent?.removeEventListener('abort', onAbort);
  const deadline = deadlineOn(controller, ms, unlink);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return deadline.timedOut;
    },
    dispose() {
      deadline.dispose();
      unlink();
    },
  };
}

/**
 * A deadline on a controller the caller owns: aborts it after `ms` (reason: a `TimeoutError` DOMException) unless
 * something aborted it first; `timedOut` as `deadlineSignal`'s. No second controller and no listener: for an
 * operation that has a controller of its own (the pipeline's), a timeout then aborts that controller, so whoever
 * else listens to its signal sees the timeout as an abort too. `onTimeout` runs when the deadline passes, before the abort.
 */
export function deadlineOn(controller: AbortController, ms: number, onTimeout?: () => void): Deadline {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    onTimeout?.();
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, ms);
  timer.unref();
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose() {
      clearTimeout(timer);
    },
  };
}
