import type { Producer } from 'kafkajs';
import type { Core } from '../core.js';
import type { ResolvedConfig } from '../config/index.js';
import type { KeyedLanes } from '../dispatch/lanes.js';
import type { PartitionOwnership } from '../kafka/assignment.js';
import type { ServiceEvents, TypedEmitter } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { LedgerGate } from '../pipeline/02-gate.js';
import type { MessagePipeline } from '../pipeline/pipeline.js';
import type { RunningOps } from '../pipeline/running.js';
import { DriftPublisher } from '../results/drift-publisher.js';
import type { PartitionedLedgerStore } from '../state/partitioned-store.js';
import { OrphanAuditor } from './auditor.js';
import { AuditLoop } from './loop.js';
import { OrphanRepairer } from './repairer.js';

export interface ServiceAuditDeps {
  config: ResolvedConfig;
  core: Pick<Core, 'registry' | 'runner' | 'codec' | 'instanceId'>;
  store: PartitionedLedgerStore;
  /** The service's own pipeline and gate: a repair is answered like an event. */
  pipeline: Pick<MessagePipeline, 'answerEvent' | 'publish'>;
  gate: Pick<LedgerGate, 'guard'>;
  producer: Producer;
  lanes: KeyedLanes;
  running: RunningOps;
  ownership: PartitionOwnership;
  events: TypedEmitter<ServiceEvents>;
  logger: Logger;
}

/**
 * The service's periodic orphan audit (`audit.interval`; null: none): audits the partitions the instance
 * owns and has restored, lists each substrate holding one of the concurrency slots (behind the events
 * waiting for one), publishes ORPHAN records on the drift topic (and as `drift` events: log, metrics,
 * status page), and repairs through the service's own pipeline under an orphan guard on its gate.
 */
export function createServiceAudit(d: ServiceAuditDeps): AuditLoop | null {
  const { config, core, store } = d;
  const interval = config.audit.interval;
  if (interval === null) return null;
  const logger = d.logger.child({ component: 'audit' });
  const { topics } = config.kafka;
  const drift = new DriftPublisher({ producer: d.producer, codec: core.codec, topic: topics.drift });
  const auditor = new OrphanAuditor({
    registry: core.registry,
    runner: core.runner,
    killGraceMs: config.runtime.kill_grace,
    logger,
    instanceId: core.instanceId,
    ledgers: store,
    partitionCount: () => store.partitionCount,
    withSlot: (task) => d.lanes.withSlot(task, -1),
  });
  const repairer = new OrphanRepairer({
    pipeline: d.pipeline,
    gate: d.gate,
    eventsTopic: topics.events,
    partitionCount: () => store.partitionCount,
    owned: (p) => d.ownership.signal(p),
    busy: (id) => d.running.busy(id) || d.lanes.has(id),
    logger,
    events: d.events,
  });
  return new AuditLoop({
    auditor,
    repairer,
    publish: async (record) => {
      d.events.emit('drift', { report: record });
      await drift.send(record, orphanKeyOf(record));
    },
    registry: core.registry,
    instanceId: core.instanceId,
    partitions: () => store.describe().filter((p) => p.restored && d.ownership.owns(p.partition)).map((p) => p.partition).sort((a, b) => a - b),
    intervalMs: interval,
    logger,
    onPass: ({ report, repairs }) => d.events.emit('audited', { orphans: report.orphans.length, failures: report.failures.length, repairs: repairs.map((r) => r.repair.outcome) }),
  });
}

/** The key of an ORPHAN record: its sliver id, else `<resource_type>:<substrate name>` (from `found`). */
function orphanKeyOf(record: { sliver_id: string | null; resource_type: string; found: string | null }): string {
  if (record.sliver_id) return record.sliver_id;
  const found = record.found ? (JSON.parse(record.found) as { name?: unknown }) : {};
  return `${record.resource_type}:${typeof found.name === 'string' ? found.name : '?'}`;
}
