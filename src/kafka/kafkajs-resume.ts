import { prototypePatch, type KafkajsPatch } from './kafkajs-internals.js';

/**
 * kafkajs' fetch loop woken by `resume()` (README "Batched writes", seventh pass).
 *
 * When every partition a consumer fetches is paused (the service's queue bound, consumer-runner.ts),
 * kafkajs 2.2.4's `ConsumerGroup.fetch` finds nothing to ask the broker for and sleeps `maxWaitTimeInMs`
 * (250 ms in the service), deaf to `resume()`. The pipeline resumes at half its bound, and a no-op drain
 * answers those 500 events in about 150 ms, so after every pause it sat idle until the sleep ran out: in a
 * 20k-event drain, 20 pauses and a quarter to half of the drain's time.
 *
 * Patched here, per consumer group: while nothing is active, `fetch` takes kafkajs' own path (metadata
 * refresh, stale-assignment check, pending seeks, error recovery) with its sleep set to 0, then waits the
 * same `maxWaitTimeInMs` itself; `resume` ends that wait at once. Nothing else changes: a fetch with any
 * partition active is kafkajs' own, and the broker's long poll keeps its `maxWaitTimeInMs`. Installed
 * process-wide with the encoder fast paths (kafka/client.ts), only for the release it was written against.
 * test/unit/kafka/kafkajs-resume.test.ts and test/integration/kafka-resume.test.ts prove it.
 */

/** The part of kafkajs' `ConsumerGroup` the patch reads and writes. */
export interface ConsumerGroupLike {
  maxWaitTime: number;
  subscriptionState: { active(): readonly { partitions: readonly number[] }[] };
}

export interface ConsumerGroupMethods {
  fetch(this: ConsumerGroupLike, nodeId: number): Promise<unknown[]>;
  resume(this: ConsumerGroupLike, topicPartitions: unknown): void;
}

/** Each group's own `maxWaitTimeInMs`, as found before the patch ever set it to 0. */
const configuredWait = new WeakMap<object, number>();
/** Each group's fetches waiting for a resume. */
const sleepers = new WeakMap<object, Set<() => void>>();

function nothingActive(group: ConsumerGroupLike): boolean {
  return group.subscriptionState.active().every((topic) => topic.partitions.length === 0);
}

/** Resolves after `ms`, or as soon as `group` is resumed. */
function sleepUntilResumed(group: ConsumerGroupLike, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let waiting = sleepers.get(group);
    if (!waiting) sleepers.set(group, (waiting = new Set()));
    const own = waiting;
    const wake = (): void => {
      clearTimeout(timer);
      own.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    own.add(wake);
  });
}

/**
 * Patches `proto` (kafkajs' `ConsumerGroup.prototype`, or a test's stand-in) so a fetch with every
 * partition paused wakes on `resume()`; returns what puts the original methods back.
 */
export function wakeOnResume(proto: ConsumerGroupMethods): () => void {
  const original = { fetch: proto.fetch, resume: proto.resume };
  proto.fetch = async function fetch(this: ConsumerGroupLike, nodeId: number): Promise<unknown[]> {
    if (!nothingActive(this)) return original.fetch.call(this, nodeId);
    let wait = configuredWait.get(this);
    if (wait === undefined) configuredWait.set(this, (wait = this.maxWaitTime));
    this.maxWaitTime = 0;
    let batches: unknown[];
    try {
      batches = await original.fetch.call(this, nodeId);
    } finally {
      this.maxWaitTime = wait;
    }
    if (batches.length === 0 && nothingActive(this)) await sleepUntilResumed(this, wait);
    return batches;
  };
  proto.resume = function resume(this: ConsumerGroupLike, topicPartitions: unknown): void {
    original.resume.call(this, topicPartitions);
    for (const wake of [...(sleepers.get(this) ?? [])]) wake();
  };
  return () => {
    proto.fetch = original.fetch;
    proto.resume = original.resume;
  };
}

const patch = prototypePatch<ConsumerGroupMethods>({
  module: 'src/consumer/consumerGroup.js',
  className: 'ConsumerGroup',
  methods: ['fetch', 'resume'],
  apply: wakeOnResume,
});

/** Installs the wake-up on kafkajs' `ConsumerGroup` (once per process; later calls only report). */
export const installResumeWake = (): KafkajsPatch => patch.install();

/** Puts kafkajs' own methods back (the bench's stock relays, tests). */
export const uninstallResumeWake = (): void => patch.uninstall();
