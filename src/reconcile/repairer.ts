import type { KafkaMessage } from 'kafkajs';
import type { DriftRepair } from '../codec/types.js';
import { AmhError } from '../errors/index.js';
import { eventLogger } from '../observability/event-logger.js';
import type { ServiceEvents, TypedEmitter } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { LedgerGate } from '../pipeline/02-gate.js';
import type { MessagePipeline } from '../pipeline/pipeline.js';
import type { RepairRequest } from './reconciler.js';
import { repairBlocked, repairEvent } from './repair-event.js';

export interface RepairerOptions {
  pipeline: Pick<MessagePipeline, 'answerEvent' | 'publish'>;
  gate: Pick<LedgerGate, 'guard'>;
  /** The ownership period of a partition (undefined when it is not ours). */
  owned: (partition: number) => AbortSignal | undefined;
  /** The events topic (a repair is answered as if it had been read from there). */
  topic: string;
  logger: Logger;
  events: TypedEmitter<ServiceEvents>;
  now?: () => number;
}

/**
 * Repairs through the same path as an event: the applied create is re-run
 * (see `repairEvent`) by `MessagePipeline.answerEvent`, in the sliver's lane,
 * under a lease, with the handler's REDEEM timeout, recorded in the ledger,
 * and its reply published on the reply topic (event id `amh-repair:...`,
 * headers `amh.repair`, `amh.repair_of`). A guard on the gate makes the
 * lease's claim refuse it when the sliver was closed or superseded meanwhile:
 * then nothing runs, nothing is recorded or published, and the repair is
 * SKIPPED.
 */
export function createRepairer(o: RepairerOptions): (request: RepairRequest) => Promise<DriftRepair> {
  const now = o.now ?? Date.now;
  return async ({ applied, state, ledger, partition }) => {
    const event = repairEvent(applied, state, now());
    const skipped = (message: string): DriftRepair => ({ action: 'RECREATE', outcome: 'SKIPPED', event_id: null, message });
    const owned = o.owned(partition);
    if (!owned || !ledger.applied) return skipped('the partition is no longer owned here');
    const expected = ledger.applied;
    let blocked: string | null = null;
    const unguard = o.gate.guard(event.event_id, (current) => (blocked = repairBlocked(current, expected)));
    const at = { topic: o.topic, partition, offset: '-1' };
    const logger = eventLogger(o.logger, event, at);
    try {
      logger.warn({ repairOf: applied.event_id }, 'repair: re-running the applied create');
      const message = { key: Buffer.from(event.sliver_id), value: null, offset: '-1', timestamp: String(now()), attributes: 0, headers: {} } as unknown as KafkaMessage;
      const answer = await o.pipeline.answerEvent(event, { topic: o.topic, partition, message, owned }, logger);
      if (answer === 'revoked') return skipped('the partition was revoked');
      if (blocked !== null && answer.result.outcome === 'STALE') {
        logger.info({ reason: blocked }, 'repair skipped: nothing ran');
        return skipped(blocked);
      }
      const published = await o.pipeline.publish(answer, logger);
      o.events.emit('result', { result: published, replayed: answer.replayed, ...at });
      return { action: 'RECREATE', outcome: published.outcome, event_id: event.event_id, message: published.message };
    } catch (err) {
      if (err instanceof AmhError && err.code === 'ABANDONED') return skipped(`not started: ${err.message}`);
      throw err;
    } finally {
      unguard();
    }
  };
}
