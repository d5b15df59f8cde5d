import type { Producer } from 'kafkajs';
import type { Core } from '../core.js';
import type { ResolvedConfig } from '../config/index.js';
import type { KeyedLanes } from '../dispatch/lanes.js';
import type { PartitionOwnership } from '../kafka/assignment.js';
import { SlidingWindowLimit } from '../kafka/rate-limit.js';
import type { ServiceEvents, TypedEmitter } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import { MessagePipeline } from '../pipeline/pipeline.js';
import type { RunningOps } from '../pipeline/running.js';
import { DeadLetterPublisher } from '../results/dead-letter.js';
import { ReplyPublisher } from '../results/reply-publisher.js';
import type { PartitionedLedgerStore } from '../state/partitioned-store.js';
import { OrphanAuditor } from './auditor.js';
import { AuditLoop } from './loop.js';
import { DriftPublisher } from './publisher.js';
import { RepairGate, RepairGuardedStore } from './repair-guard.js';
import { OrphanRepairer } from './repairer.js';

export interface ServiceAuditDeps {
  config: ResolvedConfig;
  core: Pick<Core, 'registry' | 'runner' | 'codec' | 'executor' | 'instanceId'>;
  store: PartitionedLedgerStore;
  producer: Producer;
  lanes: KeyedLanes;
  running: RunningOps;
  ownership: PartitionOwnership;
  events: TypedEmitter<ServiceEvents>;
  /** The service's shutdown signals: a repair is an operation like any other. */
  cancel: AbortSignal;
  hardStop: AbortSignal;
  logger: Logger;
}

/**
 * The service's periodic orphan audit (`audit.interval`; null: none): audits the partitions the instance
 * owns and has restored, lists substrates under the concurrency bound, and repairs through a pipeline that
 * shares the service's lanes, running operations, executor (timeouts) and ledger store (leases), with the
 * RepairGate in front of the ledgers.
 */
export function createServiceAudit(d: ServiceAuditDeps): AuditLoop | null {
  const { config, core, store } = d;
  if (config.audit.interval === null) return null;
  const logger = d.logger.child({ component: 'audit' });
  const c = config.consumer;
  const guarded = new RepairGuardedStore(store);
  const gate = new RepairGate(
    {
      codec: core.codec,
      instanceId: core.instanceId,
      logger,
      keep: c.ledger_entries,
      replies: c.ledger_replies,
      retentionMs: c.ledger_retention,
      leaseTtlMs: c.lease_ttl,
      maxReplyBytes: c.max_reply_bytes,
      maxRecordBytes: c.max_ledger_bytes,
    },
    guarded,
  );
  const { topics } = config.kafka;
  const pipeline = new MessagePipeline({
    codec: core.codec,
    gate,
    executor: core.executor,
    lanes: d.lanes,
    running: d.running,
    replies: new ReplyPublisher(d.producer, core.codec, topics.replies),
    deadLetters: new DeadLetterPublisher(d.producer, topics.dead_letter),
    deadLetterLimit: new SlidingWindowLimit(c.dead_letter_limit.max, c.dead_letter_limit.window),
    maxEventBytes: c.max_event_bytes,
    logger,
    events: d.events,
    cancel: d.cancel,
    hardStop: d.hardStop,
    ledgerReady: (partition) => store.ready(partition),
  });
  const partitionCount = (): number => store.partitionCount;
  const auditor = new OrphanAuditor({
    registry: core.registry,
    runner: core.runner,
    killGraceMs: config.runtime.kill_grace,
    logger,
    instanceId: core.instanceId,
    ledgers: store,
    get partitionCount() {
      return partitionCount();
    },
    withSlot: (task) => d.lanes.withSlot(task),
  });
  const repairer = new OrphanRepairer({
    pipeline,
    guarded,
    eventsTopic: topics.events,
    get partitionCount() {
      return partitionCount();
    },
    owned: (p) => d.ownership.signal(p),
    busy: (id) => d.lanes.busy(id),
    logger,
  });
  return new AuditLoop({
    auditor,
    repairer,
    publisher: new DriftPublisher(d.producer, core.codec, topics.drift),
    registry: core.registry,
    instanceId: core.instanceId,
    partitions: () => store.describe().filter((p) => p.restored && d.ownership.owns(p.partition)).map((p) => p.partition).sort((a, b) => a - b),
    intervalMs: config.audit.interval,
    logger,
    onPass: ({ report, repairs }) => d.events.emit('audited', { orphans: report.orphans.length, failures: report.failures.length, repairs: repairs.map((r) => r.repair.outcome) }),
  });
}
