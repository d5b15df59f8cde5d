import { AvroCodec, SchemaCatalog } from '../codec/index.js';
import { FatalError, errorMessage } from '../errors/index.js';
import { createKafkaFor } from '../kafka/client.js';
import type { Logger } from '../observability/logger.js';
import { applyChangelog } from './changelog-apply.js';
import { LocalLedgers } from './local-ledgers.js';
import type { ChildMessage, RestoreJob } from './restore-protocol.js';

/**
 * The work of the bulk restore child (restore-child.ts): reads each
 * partition of the job from its `from` offset up to its `target` with its own
 * kafkajs consumer and applies the records to the parent's local store
 * (LMDB allows several processes on one environment), by the same rules as
 * the parent's reader (`applyChangelog`). Each batch is one transaction with
 * the partition's checkpoint, then reported: a child killed at any point
 * leaves a store that is exact up to its last checkpoint.
 *
 * Why a child at all: the B-tree pages a restore reads and writes stay
 * resident in the process that touched them until its map is closed, and
 * lmdb-js unmaps an environment only when its last handle in the process
 * closes, which the service, reading on the hot path, cannot do. A child's
 * pages go away with it.
 */
export async function restorePartitions(job: RestoreJob, report: (m: ChildMessage) => Promise<void>, logger: Logger): Promise<void> {
  const { topic } = job;
  const codec = new AvroCodec(SchemaCatalog.load());
  const local = LocalLedgers.attach(job.dir, topic, codec);
  const positions = new Map(job.partitions.map((p) => [p.partition, p.from]));
  const targets = new Map(job.partitions.map((p) => [p.partition, p.target]));
  const pending = new Set(job.partitions.filter((p) => p.from < p.target).map((p) => p.partition));
  let finish: () => void = () => {};
  let fail: (err: unknown) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => ((finish = resolve), (fail = reject)));
  if (pending.size === 0) finish();

  const consumer = createKafkaFor(job.connection, { logger }).consumer({ groupId: job.groupId, maxWaitTimeInMs: 200 });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) logger.warn({ err: payload.error }, 'restore reader crashed; kafkajs restarts it');
    else fail(new FatalError(`the restore reader of ${topic} stopped: ${errorMessage(payload.error)}`, { cause: payload.error }));
  });
  /** Partitions of the topic the group gave us (all of them: we are its only member). */
  let assigned: number[] = [];
  /** Pause what we do not restore; seek what we do to where it stands (again after every join). */
  const place = (): void => {
    try {
      const others = assigned.filter((p) => !pending.has(p));
      if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
      for (const p of pending) consumer.seek({ topic, partition: p, offset: String(positions.get(p)) });
    } catch (err) {
      logger.debug({ err }, 'restore reader not positioned yet'); // before the first join; GROUP_JOIN comes back here
    }
  };
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    assigned = payload.memberAssignment[topic] ?? [];
    place();
  });

  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const p = batch.partition;
        const from = positions.get(p);
        if (from === undefined || !pending.has(p)) return;
        const applied = await applyChangelog(batch.messages, from, { codec, head: (id) => local.head(id), logger, topic, partition: p });
        if (applied.next <= from) return;
        await local.write(p, applied.changes, applied.next);
        positions.set(p, applied.next);
        await report({ type: 'progress', partition: p, position: applied.next, applied: applied.applied });
        for (const conflict of applied.conflicts) await report({ type: 'conflict', partition: p, conflict });
        if (applied.next >= (targets.get(p) ?? 0n)) {
          pending.delete(p);
          consumer.pause([{ topic, partitions: [p] }]);
          if (pending.size === 0) finish();
        }
      },
    });
    place();
    await finished;
  } finally {
    await consumer.disconnect().catch((err: unknown) => logger.warn({ err }, 'restore reader did not disconnect cleanly'));
    await local.close();
  }
}
