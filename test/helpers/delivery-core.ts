// Helpers for the delivery-core regression tests (test/integration/delivery-core-*.test.ts):
// they observe the service only from outside (reply topic, committed offsets,
// group membership, the state topic's wire format) so they keep working
// across a rewrite of the delivery core.
import { randomUUID } from 'node:crypto';
import { AssignerProtocol } from 'kafkajs';
import type { SliverResult } from '../../src/codec/types.js';
import { kafkaClient, produceRaw, sleep, uniqueName, withAdmin } from './kafka.js';
import { codec } from './service.js';

/**
 * Reads the reply topic from its beginning for up to `timeoutMs` (or until
 * every id in `eventIds` has `perEvent` results) and returns what arrived,
 * by event id. Never throws for missing results: tests assert on the map,
 * so a failure shows which events went unanswered.
 */
export async function resultsWithin(
  topic: string,
  eventIds: readonly string[],
  timeoutMs: number,
  perEvent = 1,
): Promise<Map<string, SliverResult[]>> {
  const byId = new Map<string, SliverResult[]>();
  const complete = (): boolean => eventIds.every((id) => (byId.get(id)?.length ?? 0) >= perEvent);
  const consumer = kafkaClient('amh-test-results').consumer({ groupId: uniqueName('results'), maxWaitTimeInMs: 300 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const { value } = await codec.decode('result', message.value);
          byId.set(value.event_id, [...(byId.get(value.event_id) ?? []), value]);
          if (complete()) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return byId;
  } finally {
    await consumer.disconnect();
  }
}

/** `outcome` of each event's first result, or `'(no reply)'`: reads well in a toEqual diff. */
export function outcomes(results: Map<string, SliverResult[]>, events: readonly Record<string, unknown>[]): Record<string, string> {
  return Object.fromEntries(events.map((e) => [String(e.sliver_id) + '#' + String(e.sequence), results.get(String(e.event_id))?.[0]?.outcome ?? '(no reply)']));
}

/** The group's committed offset per partition of `topic` ('-1' = none). */
export async function committedOffsets(groupId: string, topic: string): Promise<Record<number, string>> {
  return withAdmin(async (admin) => {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
  });
}

/** Polls until the committed offsets equal `expected` or `timeoutMs` passes; returns the last ones seen. */
export async function committedOffsetsWithin(
  groupId: string,
  topic: string,
  expected: Record<number, string>,
  timeoutMs: number,
): Promise<Record<number, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await committedOffsets(groupId, topic);
    if (Object.entries(expected).every(([p, o]) => now[Number(p)] === o) || Date.now() > deadline) return now;
    await sleep(500);
  }
}

/** Waits until the group is Stable with `members` members; returns each member's client id and assigned partitions of `topic`. */
export async function stableGroup(
  groupId: string,
  topic: string,
  members: number,
  timeoutMs = 60_000,
): Promise<{ clientId: string; partitions: number[] }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { groups } = await withAdmin((admin) => admin.describeGroups([groupId]));
    const group = groups[0];
    if (group?.state === 'Stable' && group.members.length === members) {
      return group.members.map((m) => {
        const assignment = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        return { clientId: m.clientId, partitions: assignment?.assignment[topic] ?? [] };
      });
    }
    if (Date.now() > deadline) throw new Error(`group ${groupId} not Stable with ${members} members within ${timeoutMs} ms: ${JSON.stringify(group)}`);
    await sleep(250);
  }
}

/**
 * Writes a sliver's ledger record on the state topic as another instance
 * (`owner`) does just before it runs an operation: an in-flight mark. Uses
 * only the documented wire contract (schemas/state/, keyed by sliver id on
 * the compacted state topic), not the store's code.
 */
export async function writeInFlightMark(
  stateTopic: string,
  sliverId: string,
  owner: string,
  opts: { sequence?: number; operation?: string; leaseMs?: number } = {},
): Promise<string> {
  const eventId = randomUUID();
  const now = Date.now();
  const ledger = {
    sliver_id: sliverId,
    version: 1,
    // A claim: a new epoch and a lease that holds for `leaseMs` (as if its owner kept renewing it).
    epoch: 1,
    writer: owner,
    applied_sequence: -1,
    entries: [],
    in_flight: {
      event_id: eventId,
      sequence: opts.sequence ?? 1,
      operation: opts.operation ?? 'REDEEM',
      owner,
      started_at: now,
      expires_at: now + (opts.leaseMs ?? 60_000),
    },
    updated_at: now,
  };
  await produceRaw(stateTopic, [{ key: sliverId, value: codec.encode('state', ledger) }]);
  return eventId;
}

/** Resolves with `value`, or with `'timeout'` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, ms, 'timeout')));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
