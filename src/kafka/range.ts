import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { ValidationError } from '../errors/index.js';

export interface PartitionRange {
  partition: number;
  /** First offset to read. */
  start: bigint;
  /** First offset NOT to read. */
  end: bigint;
}

/**
 * Offsets of `topic` for a bound given as an ISO time, an offset number
 * (the same on every partition), `earliest` or `latest`.
 */
async function offsetsAt(admin: Admin, topic: string, bound: string): Promise<Map<number, bigint>> {
  const watermarks = await admin.fetchTopicOffsets(topic);
  const clamp = (p: { partition: number; low: string; high: string }, o: bigint): bigint => {
    const [low, high] = [BigInt(p.low), BigInt(p.high)];
    return o < low ? low : o > high ? high : o;
  };
  if (bound === 'earliest') return new Map(watermarks.map((p) => [p.partition, BigInt(p.low)]));
  if (bound === 'latest') return new Map(watermarks.map((p) => [p.partition, BigInt(p.high)]));
  if (/^\d+$/.test(bound)) return new Map(watermarks.map((p) => [p.partition, clamp(p, BigInt(bound))]));
  const ms = Date.parse(bound);
  if (Number.isNaN(ms)) {
    throw new ValidationError(`'${bound}' is neither an ISO time (2026-11-23T10:00:00Z), an offset, 'earliest' nor 'latest'`);
  }
  const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, ms);
  const high = new Map(watermarks.map((p) => [p.partition, BigInt(p.high)]));
  // -1 means no record at or after that time: the range starts (or ends) at the end.
  return new Map(byTime.map((p) => [p.partition, BigInt(p.offset) < 0n ? (high.get(p.partition) ?? 0n) : BigInt(p.offset)]));
}

export async function resolveRange(admin: Admin, topic: string, from: string, to = 'latest'): Promise<PartitionRange[]> {
  const [starts, ends] = await Promise.all([offsetsAt(admin, topic, from), offsetsAt(admin, topic, to)]);
  return [...starts.entries()]
    .map(([partition, start]) => ({ partition, start, end: ends.get(partition) ?? start }))
    .sort((a, b) => a.partition - b.partition);
}

/**
 * Reads exactly the given ranges with a throwaway consumer group (so the
 * service's own offsets never move), calling `onMessage` in offset order
 * per partition, and returns when every range is read.
 */
export async function readRange(
  kafka: Kafka,
  topic: string,
  ranges: readonly PartitionRange[],
  groupId: string,
  onMessage: (partition: number, message: KafkaMessage) => Promise<void>,
): Promise<void> {
  const pending = new Set(ranges.filter((r) => r.start < r.end).map((r) => r.partition));
  if (pending.size === 0) return;
  const byPartition = new Map(ranges.map((r) => [r.partition, r]));
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let finish: (err?: unknown) => void = () => {};
    const done = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const range = byPartition.get(partition);
        const offset = BigInt(message.offset);
        if (!range || !pending.has(partition) || offset < range.start) return;
        if (offset >= range.end) {
          pending.delete(partition);
        } else {
          await onMessage(partition, message).catch(finish);
          if (offset + 1n >= range.end) pending.delete(partition);
        }
        if (pending.size === 0) finish();
      },
    });
    for (const r of ranges) if (r.start < r.end) consumer.seek({ topic, partition: r.partition, offset: r.start.toString() });
    await done;
  } finally {
    await consumer.disconnect();
  }
}
