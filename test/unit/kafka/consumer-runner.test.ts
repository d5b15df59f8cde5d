import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSSASLAuthenticationError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { FatalError } from '../../../src/errors/index.js';
import { PartitionOwnership } from '../../../src/kafka/assignment.js';
import { ConsumerRunner } from '../../../src/kafka/consumer-runner.js';
import { TypedEmitter, type ServiceEvents } from '../../../src/observability/events.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { PartitionCommits } from '../../../src/pipeline/06-commit.js';
import type { Fate, MessagePipeline, MessageSource } from '../../../src/pipeline/pipeline.js';
import { RunningOps } from '../../../src/pipeline/running.js';
import { FakeConsumer } from '../../helpers/fake-consumer.js';

const T = 'events';
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

/** A pipeline whose messages finish when the test says so. */
class HeldPipeline {
  readonly seen: MessageSource[] = [];
  private readonly finishers = new Map<string, (fate: Fate | Error) => void>();
  handle(source: MessageSource): Promise<Fate> {
    this.seen.push(source);
    return new Promise<Fate>((resolve, reject) =>
      this.finishers.set(`${source.partition}@${source.message.offset}`, (f) => (f instanceof Error ? reject(f) : resolve(f))),
    );
  }
  finish(partition: number, offset: number, fate: Fate | Error = 'answered'): void {
    this.finishers.get(`${partition}@${offset}`)?.(fate);
  }
}

function setup(maxQueued = 100) {
  const consumer = new FakeConsumer(T);
  const ownership = new PartitionOwnership();
  const pipeline = new HeldPipeline();
  const fatal: Error[] = [];
  const runner = new ConsumerRunner({
    consumer: consumer.asConsumer(),
    topic: T,
    pipeline: pipeline as unknown as MessagePipeline,
    ownership,
    commits: new PartitionCommits(consumer.asConsumer(), T, ownership, silentLogger(), () => undefined),
    running: new RunningOps(true),
    maxQueued,
    revokeGraceMs: 50,
    logger: silentLogger(),
    events: new TypedEmitter<ServiceEvents>(),
    onJoin: () => undefined,
    onFatal: (err) => fatal.push(err),
  });
  return { consumer, ownership, pipeline, runner, fatal };
}

describe('ConsumerRunner', () => {
  it('commits up to the lowest offset still in flight, after each fate', async () => {
    const { consumer, pipeline, runner } = setup();
    await runner.start();
    consumer.join([0]);
    for (const o of [0, 1, 2]) await consumer.deliver(0, o);
    pipeline.finish(0, 1);
    await tick();
    expect(consumer.committed().get(0)).toBeUndefined();
    pipeline.finish(0, 0);
    await tick();
    expect(consumer.committed().get(0)).toBe('2');
    pipeline.finish(0, 2);
    await tick();
    expect(consumer.committed().get(0)).toBe('3');
  });

  it('never commits a partition a rebalance moved away, even when its work finishes afterwards (finding 5)', async () => {
    const { consumer, pipeline, runner } = setup();
    await runner.start();
    consumer.join([0, 1]);
    await consumer.deliver(0, 10);
    await consumer.deliver(1, 20);
    const [p0] = pipeline.seen;
    consumer.join([1]); // partition 0 goes to another instance
    expect(p0?.owned.aborted).toBe(true);
    pipeline.finish(0, 10);
    pipeline.finish(1, 20);
    await tick(20);
    expect(consumer.committed()).toEqual(new Map([[1, '21']]));
  });

  it('a partition given back starts tracking again where the group resumes (no stale commit from before)', async () => {
    const { consumer, pipeline, runner } = setup();
    await runner.start();
    consumer.join([0]);
    await consumer.deliver(0, 5);
    consumer.join([]);
    consumer.join([0]);
    await consumer.deliver(0, 3); // the new period resumes from the group's committed offset
    pipeline.finish(0, 5);
    pipeline.finish(0, 3);
    await tick(20);
    expect(consumer.committed().get(0)).toBe('4');
  });

  it('does not hand a redelivered in-flight offset to the pipeline twice', async () => {
    const { consumer, pipeline, runner } = setup();
    await runner.start();
    consumer.join([0]);
    await consumer.deliver(0, 7);
    await consumer.deliver(0, 7);
    expect(pipeline.seen).toHaveLength(1);
  });

  it('re-applies backpressure after kafkajs restarts a crashed consumer (finding 7)', async () => {
    const { consumer, runner } = setup(2);
    await runner.start();
    consumer.join([0]);
    await consumer.deliver(0, 0);
    await consumer.deliver(0, 1);
    expect(consumer.isPaused()).toBe(true);
    consumer.crash(true);
    expect(consumer.isPaused()).toBe(false); // what kafkajs does
    consumer.join([0]);
    expect(consumer.isPaused()).toBe(true);
    expect(runner.backpressured).toBe(true);
  });

  it('a crash without restart, or a fatal fate, stops the service with the reason (never only logged)', async () => {
    const { consumer, pipeline, runner, fatal } = setup();
    await runner.start();
    consumer.join([0]);
    await consumer.deliver(0, 0);
    pipeline.finish(0, 0, new FatalError('ledger topic not authorized'));
    await tick();
    expect(fatal.map((e) => e.message)).toEqual(['ledger topic not authorized']);
    expect(consumer.committed().get(0)).toBeUndefined();
    const other = setup();
    await other.runner.start();
    other.consumer.crash(false);
    expect(other.fatal[0]?.message).toMatch(/the consumer stopped: connection lost/);
  });
});

describe('ConsumerRunner after a consumer restart', () => {
  it('re-applies the pause, and work of the old membership commits only through its redelivery', async () => {
    const { consumer, pipeline, runner } = setup(1);
    await runner.start();
    consumer.join([0]);
    await consumer.deliver(0, 4);
    expect(consumer.isPaused()).toBe(true);
    consumer.crash(true);
    consumer.join([0]);
    expect(consumer.isPaused()).toBe(true);
    // Still ours: the old membership's work goes on (no livelock when kafkajs restarts the consumer again and again).
    expect(pipeline.seen[0]?.owned.aborted).toBe(false);
    pipeline.finish(0, 4); // finished under the old membership: kafkajs may have dropped any commit of it
    await tick(20);
    expect(consumer.committed().get(0)).toBeUndefined();
    consumer.resume([{ topic: T }]);
    await consumer.deliver(0, 4); // the restarted consumer resumes from the group's committed offset
    expect(pipeline.seen).toHaveLength(2);
    pipeline.finish(0, 4);
    await tick(20);
    expect(consumer.committed().get(0)).toBe('5');
  });

  it('commits again what finished while kafkajs was restarting (it drops those commits without an error)', async () => {
    const { consumer, pipeline, runner } = setup();
    await runner.start();
    consumer.join([0]);
    for (const o of [0, 1, 2]) await consumer.deliver(0, o);
    for (const o of [0, 1, 2]) pipeline.finish(0, o);
    await tick(20);
    expect(consumer.committed().get(0)).toBe('3');
    await consumer.deliver(0, 3);
    await consumer.deliver(0, 4);
    consumer.crash(true);
    pipeline.finish(0, 3);
    pipeline.finish(0, 4);
    await tick(20);
    consumer.join([0]);
    // Redelivered from offset 3, answered again (from the ledger, in the real pipeline), and committed this time.
    await consumer.deliver(0, 3);
    await consumer.deliver(0, 4);
    pipeline.finish(0, 3);
    pipeline.finish(0, 4);
    await tick(20);
    expect(consumer.committed().get(0)).toBe('5');
  });

  it('restarts, itself, a consumer kafkajs gave up on for a transient cause (the broker away), instead of stopping the service', async () => {
    const { consumer, runner, fatal } = setup();
    await runner.start();
    consumer.join([0]);
    expect(consumer.runs).toBe(1);
    consumer.crash(false, new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9592'));
    expect(fatal).toEqual([]);
    await tick(1_200); // the first restart waits 1 s
    expect(consumer.runs).toBe(2);
    expect(fatal).toEqual([]);
    consumer.join([0]); // the restarted consumer rejoined
    // kafkajs also gives up with a bare KafkaJSNonRetriableError (no cause) when a connection is refused.
    consumer.crash(false, new KafkaJSNonRetriableError('Connection error: connect ECONNREFUSED 127.0.0.1:9592'));
    await tick(1_200);
    expect(consumer.runs).toBe(3);
    expect(fatal).toEqual([]);
    runner.quiesce(); // and a stopping service has nothing to pause after such a crash: no throw
  });

  it('stops the service when kafkajs gave the consumer up for a permanent cause (a refused login)', async () => {
    const { consumer, runner, fatal } = setup();
    await runner.start();
    consumer.join([0]);
    consumer.crash(false, new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)('SASL SCRAM SHA256 authentication failed'));
    expect(fatal.map((e) => e.message)).toEqual(['the consumer stopped: SASL SCRAM SHA256 authentication failed']);
    await tick(1_200);
    expect(consumer.runs).toBe(1);
  });
});
