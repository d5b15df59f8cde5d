import { prototypePatch, type KafkajsPatch } from './kafkajs-internals.js';

/**
 * kafkajs' request queue quiet while nothing waits (README "Batched writes", eighth pass).
 *
 * kafkajs 2.2.4's `RequestQueue.scheduleCheckPendingRequests` runs after every answer and every queued
 * request. With no request pending and no client-side throttle, it computes `throttledUntil - Date.now()`
 * (negative: `throttledUntil` starts at -1) and still sets a timer with it; Node runs that after 1 ms, the
 * check finds nothing, and schedules itself again. Every broker connection that ever answered keeps such a
 * loop alive for as long as it is open (kafkajs issues #1556 and #1704, fix proposed in #1667, never
 * released): an idle `amh run` spent about 50 ms of CPU a second on it, in the gaps of a playbook's run too.
 *
 * Patched here: with nothing pending, nothing is scheduled. That is all the timer could ever act on: a
 * request that cannot go out at once is queued by `push`, which schedules the check itself, and an answer
 * or a request timeout checks the queue directly. With anything pending, kafkajs' own code runs unchanged
 * (its throttle wait, or its 10 ms re-check while too many requests are in flight). Installed process-wide
 * with the other patches (kafka/client.ts), only for the release it was written against.
 * test/unit/kafka/kafkajs-idle.test.ts and test/integration/kafka-idle.test.ts prove it.
 */

/** The part of kafkajs' `RequestQueue` the patch reads. */
export interface RequestQueueLike {
  pending: readonly unknown[];
}

export interface RequestQueueMethods {
  scheduleCheckPendingRequests(this: RequestQueueLike): void;
}

/** Patches `proto` (kafkajs' `RequestQueue.prototype`, or a test's stand-in); returns what puts the original back. */
export function quietWhenIdle(proto: RequestQueueMethods): () => void {
  const original = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueLike): void {
    if (this.pending.length > 0) original.call(this);
  };
  return () => {
    proto.scheduleCheckPendingRequests = original;
  };
}

const patch = prototypePatch<RequestQueueMethods>({
  module: 'src/network/requestQueue/index.js',
  className: 'RequestQueue',
  methods: ['scheduleCheckPendingRequests'],
  apply: quietWhenIdle,
});

/** Installs the fix on kafkajs' `RequestQueue` (once per process; later calls only report). */
export const installIdleQuiet = (): KafkajsPatch => patch.install();

/** Puts kafkajs' own method back (the bench's stock relays, tests). */
export const uninstallIdleQuiet = (): void => patch.uninstall();
