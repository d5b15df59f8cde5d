import { Partitioners } from 'kafkajs';
import { createCore, type CoreDeps } from './core.js';
import { KeyedLanes } from './dispatch/lanes.js';
import { readRange, resolveRange, type PartitionRange } from './kafka/range.js';
import { verifyKafkaAccess } from './kafka/security.js';
import { SlidingWindowLimit } from './kafka/rate-limit.js';
import { TypedEmitter, type ServiceEvents } from './observability/events.js';
import { decodeMessage } from './pipeline/01-decode.js';
import { LedgerGate } from './pipeline/02-gate.js';
import { MessagePipeline } from './pipeline/pipeline.js';
import { RunningOps } from './pipeline/running.js';
import { DeadLetterPublisher } from './results/dead-letter.js';
import { ReplyPublisher } from './results/reply-publisher.js';
import { childRestore, ledgerDir } from './service.js';
import { PartitionedLedgerStore } from './state/partitioned-store.js';
import { eventLogger } from './observability/event-logger.js';

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
  /** Most events read and not yet answered at one time: the range is streamed, never held whole. */
  peakHeld: number;
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
  const c = config.consumer;
  await verifyKafkaAccess(config.kafka, {
    clientId: `${config.kafka.client_id}/${core.instanceId}`,
    logger,
    deadlineMs: config.kafka.startup_timeout,
    ...(deps.socketFactory ? { socketFactory: deps.socketFactory } : {}),
  });
  const admin = core.kafka.admin();
  const producer = core.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await Promise.all([admin.connect(), producer.connect()]);
  const stopped = new AbortController();
  const store = new PartitionedLedgerStore({
    kafka: core.kafka,
    dir: ledgerDir(config),
    producer,
    codec: core.codec,
    topic: topics.state,
    instanceId: core.instanceId,
    logger,
    onFailure: (err) => stopped.abort(err),
    restoreInChild: childRestore(config, core),
  });
  const summary: ReplaySummary = { ranges: [], events: 0, duplicate: 0, stale: 0, run: 0, undecodable: 0, dryRun: options.dryRun ?? false, peakHeld: 0 };
  try {
    await core.warmPool?.start(); // the replayed events' playbooks run warm as the service's would (spawned until a zygote is ready)
    await store.start();
    const ranges: PartitionRange[] = await resolveRange(admin, topics.events, options.from, options.to);
    // The ledgers of every partition in the range, restored before anything is decided.
    await store.assign(ranges.map((r) => r.partition));
    summary.ranges = ranges.map((r) => ({ partition: r.partition, start: r.start.toString(), end: r.end.toString() }));
    // Replay takes the same leases as `amh run`: each waits for the other's, and neither runs an event twice.
    const gate = LedgerGate.fromConfig(c, { store, codec: core.codec, instanceId: core.instanceId, logger });
    const pipeline = new MessagePipeline({
      codec: core.codec,
      gate,
      executor: core.executor,
      lanes: new KeyedLanes(c.concurrency),
      running: new RunningOps(false),
      replies: new ReplyPublisher(producer, core.codec, topics.replies),
      deadLetters: new DeadLetterPublisher(producer, topics.dead_letter),
      deadLetterLimit: new SlidingWindowLimit(c.dead_letter_limit.max, c.dead_letter_limit.window),
      maxEventBytes: c.max_event_bytes,
      logger,
      events: new TypedEmitter<ServiceEvents>(),
      cancel: stopped.signal,
      hardStop: stopped.signal,
      ledgerReady: async () => undefined,
    });
    // Streams the range: at most this many events are held at once, whatever its length.
    const bound = Math.max(1, 2 * c.concurrency);
    const work = new Set<Promise<void>>();
    let failure: unknown = null;
    await readRange(core.kafka, topics.events, ranges, `amh-replay-${core.instanceId}`, async (partition, message) => {
      if (failure) throw failure;
      const at = { partition, offset: message.offset };
      const decoded = await decodeMessage(core.codec, message, c.max_event_bytes);
      if (decoded.kind === 'undecodable') {
        summary.undecodable++;
        report({ ...at, decision: 'undecodable', reason: decoded.reason });
        return;
      }
      const { event, tooLarge } = decoded;
      summary.events++;
      const about = { ...at, event_id: event.event_id, sliver_id: event.sliver_id, operation: event.operation, sequence: event.sequence };
      if (options.dryRun) {
        const kind = gate.decide(event).kind;
        count(summary, kind);
        report({ ...about, decision: kind });
        return;
      }
      const log = eventLogger(logger, event, { topic: topics.events, ...at });
      const source = { topic: topics.events, partition, message, owned: new AbortController().signal };
      const job = pipeline
        .answerEvent(event, source, log, tooLarge)
        .then(async (answer) => {
          if (answer === 'revoked') return;
          const result = await pipeline.publish(answer, log);
          const kind = answer.replayed ? 'duplicate' : result.outcome === 'STALE' ? 'stale' : 'run';
          count(summary, kind);
          report({ ...about, decision: kind, outcome: result.outcome });
        })
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => work.delete(job));
      work.add(job);
      summary.peakHeld = Math.max(summary.peakHeld, work.size);
      while (work.size >= bound) await Promise.race(work);
    });
    await Promise.all(work);
    if (failure) throw failure;
    return summary;
  } finally {
    await store.stop();
    await Promise.allSettled([producer.disconnect(), admin.disconnect(), core.warmPool?.stop()]);
  }
}

function count(summary: ReplaySummary, kind: string): void {
  if (kind === 'duplicate') summary.duplicate++;
  else if (kind === 'stale') summary.stale++;
  else summary.run++;
}
