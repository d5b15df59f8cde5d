import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PATCHED_KAFKAJS } from '../../../src/kafka/kafkajs-internals.js';
import { installResumeWake, uninstallResumeWake, wakeOnResume, type ConsumerGroupLike } from '../../../src/kafka/kafkajs-resume.js';

/**
 * A stand-in for kafkajs 2.2.4's ConsumerGroup, shaped as its fetch behaves: with every partition paused it
 * sleeps `maxWaitTime` and returns nothing; otherwise it returns a batch (the broker's answer).
 */
class Group implements ConsumerGroupLike {
  maxWaitTime = 250;
  readonly paused = new Set<number>();
  /** `maxWaitTime` as each call of the original fetch saw it. */
  readonly waitsSeen: number[] = [];
  readonly subscriptionState = { active: () => [{ partitions: [0, 1].filter((p) => !this.paused.has(p)) }] };

  async fetch(nodeId: number): Promise<unknown[]> {
    this.waitsSeen.push(this.maxWaitTime);
    if (this.paused.size === 2) {
      await new Promise((resolve) => setTimeout(resolve, this.maxWaitTime));
      return [];
    }
    return [`batch from node ${nodeId}`];
  }

  resume(): void {
    this.paused.clear();
  }

  pauseAll(): this {
    this.paused.add(0).add(1);
    return this;
  }
}

/** Whether `promise` has settled by now. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe('wakeOnResume', () => {
  let restore: () => void;

  beforeEach(() => {
    vi.useFakeTimers();
    restore = wakeOnResume(Group.prototype);
  });

  afterEach(() => {
    restore();
    vi.useRealTimers();
  });

  it('ends the wait of a fetch with every partition paused as soon as the group is resumed', async () => {
    const group = new Group().pauseAll();
    const fetching = group.fetch(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(await settled(fetching)).toBe(false);
    group.resume();
    expect(await settled(fetching)).toBe(true);
    expect(await fetching).toEqual([]);
    // kafkajs' own path ran, without its sleep; its wait is the group's own again afterwards.
    expect(group.waitsSeen).toEqual([0]);
    expect(group.maxWaitTime).toBe(250);
    expect(await group.fetch(1)).toEqual(['batch from node 1']);
  });

  it("otherwise waits the group's own maxWaitTime, as kafkajs does", async () => {
    const group = new Group().pauseAll();
    const fetching = group.fetch(1);
    await vi.advanceTimersByTimeAsync(249);
    expect(await settled(fetching)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(fetching)).toBe(true);
    expect(group.maxWaitTime).toBe(250);
  });

  it("leaves a fetch with any partition active to kafkajs, its wait untouched", async () => {
    const group = new Group();
    group.paused.add(0);
    expect(await group.fetch(2)).toEqual(['batch from node 2']);
    expect(group.waitsSeen).toEqual([250]);
  });

  it('keeps the configured wait when fetches of two brokers interleave, and wakes both', async () => {
    const group = new Group().pauseAll();
    const first = group.fetch(1);
    const second = group.fetch(2);
    await vi.advanceTimersByTimeAsync(5);
    group.resume();
    await expect(Promise.all([first, second])).resolves.toEqual([[], []]);
    expect(group.maxWaitTime).toBe(250);
    // A later pause waits the configured 250 ms again, not the 0 one fetch saw mid-way.
    group.pauseAll();
    const third = group.fetch(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(await settled(third)).toBe(false);
    await vi.advanceTimersByTimeAsync(50);
    expect(await settled(third)).toBe(true);
  });

  it('wakes only the group that was resumed', async () => {
    const a = new Group().pauseAll();
    const b = new Group().pauseAll();
    const fa = a.fetch(1);
    const fb = b.fetch(1);
    a.resume();
    expect(await settled(fa)).toBe(true);
    expect(await settled(fb)).toBe(false);
    await vi.advanceTimersByTimeAsync(250);
    expect(await settled(fb)).toBe(true);
  });
});

describe('installResumeWake', () => {
  const require = createRequire(import.meta.url);
  const proto = (require('kafkajs/src/consumer/consumerGroup.js') as { prototype: { fetch: unknown; resume: unknown } }).prototype;

  afterEach(() => {
    installResumeWake(); // as the service's client module left it
  });

  it(`patches kafkajs ${PATCHED_KAFKAJS}'s ConsumerGroup once, and puts it back on uninstall`, () => {
    uninstallResumeWake();
    const own = { fetch: proto.fetch, resume: proto.resume };
    expect(installResumeWake()).toEqual({ installed: true, version: PATCHED_KAFKAJS });
    const patched = { fetch: proto.fetch, resume: proto.resume };
    expect(patched.fetch).not.toBe(own.fetch);
    expect(patched.resume).not.toBe(own.resume);
    expect(installResumeWake()).toEqual({ installed: true, version: PATCHED_KAFKAJS });
    expect(proto.fetch).toBe(patched.fetch);
    uninstallResumeWake();
    expect(proto.fetch).toBe(own.fetch);
    expect(proto.resume).toBe(own.resume);
  });
});
