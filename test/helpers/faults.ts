// What fault tests check from outside the service, on direct connections to
// the broker (never through the fault proxy): the replies that arrived, and
// the consumer group's committed offsets over time.
import { randomBytes } from 'node:crypto';
import { AssignerProtocol } from 'kafkajs';
import { partitionOf } from '../../src/kafka/partition-of.js';
import type { SliverResult } from '../../src/codec/types.js';
import { kafkaClient, sleep, uniqueName, withAdmin } from './kafka.js';
import { codec } from './service.js';

/** Every reply on a topic, read from its beginning in the background until stop(). */
export interface ReplyLog {
  /** Results per event id, in arrival order. */
  readonly byEvent: ReadonlyMap<string, SliverResult[]>;
  readonly count: number;
  /** Reply records this reader was handed more than once (its own re-reads, not the service's re-publishing). */
  readonly reread: number;
  /** Resolves once every id has at least one result; throws naming the missing ones after timeoutMs. */
  waitForAll(eventIds: readonly string[], timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function readReplies(topic: string): Promise<ReplyLog> {
  const consumer = kafkaClient('amh-test-replies').consumer({ groupId: uniqueName('replies'), maxWaitTimeInMs: 200 });
  const byEvent = new Map<string, SliverResult[]>();
  let count = 0;
  let reread = 0;
  const seen = new Set<string>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const where = `${partition}@${message.offset}`;
      if (seen.has(where)) return void reread++;
      seen.add(where);
      const { value } = await codec.decode('result', message.value);
      byEvent.set(value.event_id, [...(byEvent.get(value.event_id) ?? []), value]);
      count++;
    },
  });
  return {
    byEvent,
    get count() {
      return count;
    },
    get reread() {
      return reread;
    },
    async waitForAll(eventIds, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const missing = eventIds.filter((id) => !byEvent.has(id));
        if (missing.length === 0) return;
        if (Date.now() > deadline) throw new Error(`no result within ${timeoutMs} ms for ${missing.length} event(s): ${missing.join(', ')}`);
        await sleep(200);
      }
    },
    stop: () => consumer.disconnect(),
  };
}

/** A group's committed offset per partition, as seen by an admin client polling it. */
export interface CommitWatch {
  /** Each partition's distinct committed offsets in the order they were seen (no committed offset: not listed). */
  readonly history: ReadonlyMap<number, readonly number[]>;
  /** `p<partition>: <from> -> <to>` for each time a committed offset moved backwards. */
  backwards(): string[];
  /** Waits until every partition's committed offset equals its end offset (-1: none committed); returns both (partition -> offset). */
  waitForCaughtUp(timeoutMs: number): Promise<{ committed: Record<number, number>; end: Record<number, number> }>;
  stop(): Promise<void>;
}

export async function watchCommittedOffsets(groupId: string, topic: string, everyMs = 200): Promise<CommitWatch> {
  const admin = kafkaClient('amh-test-commits').admin();
  await admin.connect();
  const history = new Map<number, number[]>();
  const latest = new Map<number, number>();
  const backwards: string[] = [];
  let stopped = false;
  let pollError: unknown = null;

  const poll = async (): Promise<void> => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    for (const { partition, offset } of offsets?.partitions ?? []) {
      const value = Number(offset);
      if (value < 0) continue; // nothing committed yet
      const seen = history.get(partition) ?? [];
      const last = seen.at(-1);
      if (last === value) continue;
      if (last !== undefined && value < last) backwards.push(`p${partition}: ${last} -> ${value}`);
      seen.push(value);
      history.set(partition, seen);
      latest.set(partition, value);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      try {
        await poll();
      } catch (error) {
        pollError = error; // reported by waitForCaughtUp/stop: a watch that stops seeing must not pass silently
      }
      await sleep(everyMs);
    }
  })();

  const endOffsets = async (): Promise<Record<number, number>> => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return Object.fromEntries(offsets.map((p) => [p.partition, Number(p.high)]));
  };
  return {
    history,
    backwards: () => [...backwards],
    async waitForCaughtUp(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const end = await endOffsets();
        // A partition that never had a message has nothing to commit: it counts as committed at 0.
        const committed = Object.fromEntries(Object.entries(end).map(([p, high]) => [Number(p), latest.get(Number(p)) ?? (high === 0 ? 0 : -1)]));
        if (Object.entries(end).every(([p, high]) => committed[Number(p)] === high)) return { committed, end };
        if (Date.now() > deadline) {
          const why = pollError ? ` (last poll error: ${String(pollError)})` : '';
          throw new Error(`committed offsets ${JSON.stringify(committed)} did not reach the end offsets ${JSON.stringify(end)} within ${timeoutMs} ms${why}`);
        }
        await sleep(everyMs);
      }
    },
    async stop() {
      stopped = true;
      await loop;
      await admin.disconnect();
    },
  };
}

/** Ids that occur more than once in `lines` (e.g. a slow-plugin log), with their counts. */
export function repeated(lines: readonly string[], key: (line: string) => string = (l) => l): Record<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(key(line), (counts.get(key(line)) ?? 0) + 1);
  return Object.fromEntries([...counts].filter(([, n]) => n > 1));
}

/** The partition (of `partitions`) the producers' default partitioner gives a message key (unit-tested against kafkajs' own). */
export const partitionOfKey = partitionOf;

/** A fresh sliver id (the message key) that lands on `partition`, so a test can give work to a chosen member. */
export function sliverIdOn(partition: number, partitions: number, prefix: string): string {
  for (;;) {
    const id = `${prefix}-${randomBytes(3).toString('hex')}`;
    if (partitionOfKey(id, partitions) === partition) return id;
  }
}

/** Waits until the group is Stable with `count` members; returns each member's partitions of `topic` by client id. */
export async function waitForMembers(groupId: string, topic: string, count: number, timeoutMs = 30_000): Promise<Map<string, number[]>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { groups } = await withAdmin((admin) => admin.describeGroups([groupId]));
    const group = groups[0];
    if (group?.state === 'Stable' && group.members.length === count) {
      return new Map(
        group.members.map((m) => [m.clientId, [...(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic] ?? [])].sort((a, b) => a - b)]),
      );
    }
    if (Date.now() > deadline) throw new Error(`group ${groupId} not Stable with ${count} members within ${timeoutMs} ms: ${JSON.stringify(group?.members.map((m) => m.clientId))}`);
    await sleep(250);
  }
}
