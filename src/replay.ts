import { Partitioners } from 'kafkajs';
import type { SliverEvent } from './codec/types.js';
import { createCore, type CoreDeps } from './core.js';
import { KeyedLanes } from './dispatch/lanes.js';
import { errorMessage } from './errors/index.js';
import { groupLiveness } from './kafka/group-liveness.js';
import { readRange, resolveRange, type PartitionRange } from './kafka/range.js';
import { ReplyPublisher } from './results/reply-publisher.js';
import { LedgerGuard } from './state/guard.js';
import { KafkaLedgerStore } from './state/kafka-store.js';

export interface ReplayOptions {
  /** ISO time, offset, `earliest` or `latest`. */
  from: string;
  /** Same forms; default: the end of each partition now. */
  to?: string;
  /** Only say what would happen. */
  dryRun?: boolean;
}

/** One line of the replay report. */
export interface ReplayLine {
  partition: number;
  offset: string;
  event_id?: string;
  sliver_id?: string;
  operation?: string;
  sequence?: number;
  /** duplicate (stored result re-published), stale, run, wait (another instance has it in flight), undecodable. */
  decision: string;
  outcome?: string;
  reason?: string;
}

export interface ReplaySummary {
  ranges: { partition: number; start: string; end: string }[];
  events: number;
  duplicate: number;
  stale: number;
  run: number;
  undecodable: number;
  dryRun: boolean;
}

/**
 * `amh replay`: re-reads a range of the events topic with a throwaway group
 * and answers each event through the same ledger as `amh run`: answered
 * events get their stored result re-published, stale ones are answered
 * STALE, and only events never answered run. The service's own committed
 * offsets are not touched.
 */
export async function replay(deps: CoreDeps, options: ReplayOptions, report: (line: ReplayLine) => void): Promise<ReplaySummary> {
  const { config, logger } = deps;
  const core = createCore({ ...deps, instanceId: deps.instanceId ?? `replay-${process.pid}-${Date.now().toString(36)}` });
  const { topics } = config.kafka;
  const admin = core.kafka.admin();
  const producer = core.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await Promise.all([admin.connect(), producer.connect()]);
  const store = new KafkaLedgerStore({ kafka: core.kafka, producer, codec: core.codec, topic: topics.state, instanceId: core.instanceId, logger });
  const summary: ReplaySummary = { ranges: [], events: 0, duplicate: 0, stale: 0, run: 0, undecodable: 0, dryRun: options.dryRun ?? false };
  try {
    await store.start();
    const ranges: PartitionRange[] = await resolveRange(admin, topics.events, options.from, options.to);
    summary.ranges = ranges.map((r) => ({ partition: r.partition, start: r.start.toString(), end: r.end.toString() }));
    const guard = new LedgerGuard({
      executor: core.executor,
      store,
      codec: core.codec,
      instanceId: core.instanceId,
      liveness: groupLiveness(admin, config.kafka.group_id),
      keep: config.consumer.ledger_entries,
    });
    const replies = new ReplyPublisher(producer, core.codec, topics.replies, logger);
    const lanes = new KeyedLanes(config.consumer.concurrency);
    const work: Promise<void>[] = [];
    await readRange(core.kafka, topics.events, ranges, `amh-replay-${core.instanceId}`, async (partition, message) => {
      const at = { partition, offset: message.offset };
      let event: SliverEvent;
      try {
        event = (await core.codec.decode('event', message.value)).value;
      } catch (err) {
        summary.undecodable++;
        report({ ...at, decision: 'undecodable', reason: errorMessage(err) });
        return;
      }
      summary.events++;
      const about = { ...at, event_id: event.event_id, sliver_id: event.sliver_id, operation: event.operation, sequence: event.sequence };
      // Per sliver, in offset order, like `amh run`.
      work.push(
        lanes.run(event.sliver_id, async () => {
          const decision = await guard.decide(event);
          if (options.dryRun) {
            count(summary, decision.kind);
            report({ ...about, decision: decision.kind });
            return;
          }
          const log = logger.child({ eventId: event.event_id, sliverId: event.sliver_id, operation: event.operation, ...at });
          const answer = await guard.answer(event, { logger: log, messageKey: message.key?.toString('utf8') ?? null });
          await replies.publish(answer.result, undefined, answer.value);
          const kind = answer.replayed ? 'duplicate' : answer.result.outcome === 'STALE' ? 'stale' : 'run';
          count(summary, kind);
          report({ ...about, decision: kind, outcome: answer.result.outcome });
        }),
      );
    });
    await Promise.all(work);
    return summary;
  } finally {
    await store.stop();
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
  }
}

function count(summary: ReplaySummary, kind: string): void {
  if (kind === 'duplicate') summary.duplicate++;
  else if (kind === 'stale') summary.stale++;
  else summary.run++;
}
