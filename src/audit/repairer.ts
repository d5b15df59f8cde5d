import { randomUUID } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import type { DriftRepair, SliverEvent } from '../codec/types.js';
import { eventLogger } from '../observability/event-logger.js';
import type { Logger } from '../observability/logger.js';
import { AmhError } from '../errors/index.js';
import type { ServiceEvents, TypedEmitter } from '../observability/events.js';
import type { LedgerGate } from '../pipeline/02-gate.js';
import type { MessagePipeline } from '../pipeline/pipeline.js';
import { partitionOf } from '../kafka/partition-of.js';
import { REPAIR_EVENT_PREFIX, orphanGuard } from './repair-guard.js';
import type { Orphan } from './types.js';

export interface OrphanRepairerOptions {
  /** The service's own pipeline (lanes, running operations, executor, ledger gate, replies). */
  pipeline: Pick<MessagePipeline, 'answerEvent' | 'publish'>;
  /** Its gate: the repair runs under `orphanGuard`. */
  gate: Pick<LedgerGate, 'guard'>;
  /** Names the topic in logs and in the synthesized event's source. */
  eventsTopic: string;
  /** Partitions of the events (and state) topic, now. */
  partitionCount: number | (() => number);
  /** The ownership period of a partition (aborted when it is revoked); undefined when it is not ours. */
  owned: (partition: number) => AbortSignal | undefined;
  /** Whether the sliver has work queued or running in its lane now. */
  busy: (sliverId: string) => boolean;
  logger: Logger;
  /** `result` is emitted for a repair's published reply, as for an event's (metrics, status page). */
  events?: TypedEmitter<ServiceEvents>;
  now?: () => number;
}

const skipped = (message: string): DriftRepair => ({ action: 'DELETE', outcome: 'SKIPPED', event_id: null, message });

/**
 * Deletes an orphan through its handler's own `delete`: a CLOSE synthesized from what the substrate listed
 * (event id `amh-orphan-repair:<uuid>`), answered like an event of the AM (its sliver's lane, a concurrency
 * slot, the handler's CLOSE timeout, a lease on the sliver's ledger, the answer recorded there), and its
 * reply published on the reply topic, where the event id tells it apart. A sliver a ledger owns by then
 * (an event arrived after the audit) is never touched: the repair is SKIPPED.
 */
export class OrphanRepairer {
  private readonly now: () => number;

  private partitionCount(): number {
    return typeof this.o.partitionCount === 'function' ? this.o.partitionCount() : this.o.partitionCount;
  }

  constructor(private readonly o: OrphanRepairerOptions) {
    this.now = o.now ?? Date.now;
  }

  async repair(orphan: Orphan): Promise<DriftRepair> {
    const { sliverId } = orphan.object;
    if (sliverId === null) return skipped('the substrate names no sliver: delete it by hand');
    if (!orphan.object.close) return skipped(`handler ${orphan.handler} cannot address ${orphan.object.name} for a delete: delete it by hand`);
    const partition = partitionOf(sliverId, this.partitionCount());
    const owned = this.o.owned(partition);
    if (!owned) return skipped(`partition ${partition} is no longer owned by this instance`);
    if (this.o.busy(sliverId)) return skipped('an event of the sliver is queued or running');
    const event = this.closeEvent(orphan, sliverId);
    const at = { topic: this.o.eventsTopic, partition, offset: '-1' };
    const logger = eventLogger(this.o.logger, event, at).child({ repair: 'orphan' });
    const message: KafkaMessage = { key: Buffer.from(sliverId), value: null, offset: '-1', timestamp: String(event.timestamp), attributes: 0, headers: {} };
    logger.warn({ orphan: orphan.object.name, reason: orphan.reason }, `deleting orphan ${orphan.object.resourceType} ${orphan.object.name} (orphan repair)`);
    let blocked: string | null = null;
    const guard = orphanGuard(event.event_id);
    const unguard = this.o.gate.guard(event.event_id, (ledger) => (blocked = guard(ledger)));
    try {
      const answer = await this.o.pipeline.answerEvent(event, { topic: at.topic, partition, message, owned }, logger);
      if (answer === 'revoked') return skipped(`partition ${partition} was revoked before the repair ran`);
      if (answer.result.outcome === 'STALE') return skipped(blocked ?? `nothing ran: ${answer.result.message}`);
      const published = await this.o.pipeline.publish(answer, logger);
      this.o.events?.emit('result', { result: published, replayed: false, ...at });
      return { action: 'DELETE', outcome: published.outcome, event_id: event.event_id, message: published.message };
    } catch (err) {
      if (err instanceof AmhError && err.code === 'ABANDONED') return skipped(`not started: ${err.message}`);
      throw err;
    } finally {
      unguard();
    }
  }

  /**
   * The CLOSE: sequence = what the ledger applied (0 without one), so a REDEEM applied meanwhile (a higher
   * sequence) makes it STALE even before the guard looks; timestamp = now (never older than the retention).
   */
  private closeEvent(orphan: Orphan, sliverId: string): SliverEvent {
    const close = orphan.object.close ?? { node_sliver: null, network_sliver: null };
    return {
      event_id: `${REPAIR_EVENT_PREFIX}${randomUUID()}`,
      operation: 'CLOSE',
      sliver_id: sliverId,
      slice_id: '',
      resource_type: orphan.object.resourceType,
      sequence: Math.max(0, orphan.ledger?.applied_sequence ?? 0),
      timestamp: this.now(),
      node_sliver: close.node_sliver ?? null,
      network_sliver: close.network_sliver ?? null,
      previous_node_sliver: null,
      previous_network_sliver: null,
      slice: { user_ssh_keys: [], project_id: null, slice_name: null },
      poa: null,
      trace_id: null,
    };
  }
}
