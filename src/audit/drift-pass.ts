import PQueue from 'p-queue';
import type { DriftReport } from '../codec/types.js';
import type { Core } from '../core.js';
import { HandlerRegistry } from '../handlers/registry.js';
import { eventLogger } from '../observability/event-logger.js';
import type { Logger } from '../observability/logger.js';
import { appliedOf, judge, probeEventOf } from '../reconcile/judge.js';
import { isActive } from '../state/ledger.js';
import type { SliverLedger } from '../codec/types.js';
import type { DriftProvider } from './types.js';

export interface DriftPassOptions {
  core: Pick<Core, 'codec' | 'registry' | 'executor' | 'instanceId'>;
  ledgers: { ledgersOf(partition: number): Iterable<SliverLedger> };
  /** Probes at once. */
  concurrency: number;
  topic: string;
  logger: Logger;
}

/**
 * One drift pass for `amh audit`: every active sliver of the given partitions
 * probed once, judged against its applied state the way the service's
 * reconciler judges it (reconcile/judge.ts), and nothing published or
 * repaired. A probe that does not answer OK is a problem of the audit (it
 * could not look), reported in the error list, not as drift.
 */
export function driftPass(o: DriftPassOptions): DriftProvider {
  return async ({ partitions, signal }) => {
    const queue = new PQueue({ concurrency: Math.max(1, o.concurrency) });
    const found: DriftReport[] = [];
    const failures: string[] = [];
    for (const partition of partitions) {
      for (const ledger of o.ledgers.ledgersOf(partition)) {
        if (!isActive(ledger)) continue;
        void queue.add(async () => {
          if (signal.aborted) return;
          const applied = await appliedOf(o.core.codec, ledger);
          if (!applied) return;
          const handler = o.core.registry.find(applied.event.resource_type);
          if (!handler || !HandlerRegistry.supports(handler, 'PROBE')) return;
          const now = Date.now();
          const probe = probeEventOf(applied.event, now);
          const logger = eventLogger(o.logger, probe, { topic: o.topic, partition, offset: '-1' });
          const result = await o.core.executor.execute(probe, { logger, signal });
          if (result.outcome !== 'OK' || !result.sliver) {
            failures.push(`${ledger.sliver_id}: probe ${result.outcome}: ${result.message}`);
            return;
          }
          const judged = judge(ledger, applied, { sliver: result.sliver }, { handler: handler.name, instanceId: o.core.instanceId, now });
          if (judged) found.push(judged.report);
        });
      }
    }
    await queue.onIdle();
    if (failures.length > 0) throw new Error(`${failures.length} probe(s) did not answer: ${failures.slice(0, 5).join('; ')}`);
    return found.sort((a, b) => (a.sliver_id ?? '').localeCompare(b.sliver_id ?? ''));
  };
}
