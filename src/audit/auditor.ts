import type { PlaybookRunner } from '../ansible/types.js';
import type { DriftRepair, DriftReport, SliverLedger } from '../codec/types.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { Logger } from '../observability/logger.js';
import { describeOrphan, findOrphans } from './compare.js';
import { listSubstrates } from './listing.js';
import { partitionOf } from '../kafka/partition-of.js';
import type { AuditReport, DriftProvider, ListingFailure, Orphan } from './types.js';
import { errorMessage } from '../errors/index.js';

export interface AuditorOptions {
  registry: HandlerRegistry;
  runner: PlaybookRunner;
  killGraceMs: number;
  logger: Logger;
  /** Names the detecting instance in every record. */
  instanceId: string;
  /** The ledgers (restored for the partitions audited). */
  ledgers: { get(sliverId: string): SliverLedger | undefined };
  /** Partitions of the events (and state) topic: maps a key to its partition. */
  /** Partitions of the events (and state) topic, now. */
  partitionCount: number | (() => number);
  /** A listing holds a concurrency slot (the service's `lanes.withSlot`). */
  withSlot?: <T>(task: () => Promise<T>) => Promise<T>;
  /** Drift findings to add to each pass (the drift probe), when there is one. */
  drift?: DriftProvider;
  now?: () => number;
}

/** One audit pass: the report, and the orphans themselves (for repair). */
export interface AuditPass {
  report: AuditReport;
  orphans: Orphan[];
}

/**
 * The orphan audit: lists what every handler's substrate has, and reports what no ledger owns among the
 * keys that map to the given partitions (each instance audits the partitions it owns; `amh audit` all of
 * them). Drift findings of a drift provider are added to the same report. Changes nothing.
 */
export class OrphanAuditor {
  private readonly now: () => number;

  private partitionCount(): number {
    return typeof this.o.partitionCount === 'function' ? this.o.partitionCount() : this.o.partitionCount;
  }

  constructor(private readonly o: AuditorOptions) {
    this.now = o.now ?? Date.now;
  }

  async audit(partitions: readonly number[], signal: AbortSignal): Promise<AuditPass> {
    const startedAt = this.now();
    const owned = new Set(partitions);
    const inScope = (key: string): boolean => owned.has(partitionOf(key, this.partitionCount()));
    const listing = await listSubstrates({
      registry: this.o.registry,
      runner: this.o.runner,
      killGraceMs: this.o.killGraceMs,
      logger: this.o.logger,
      signal,
      ...(this.o.withSlot ? { withSlot: this.o.withSlot } : {}),
    });
    // Ledgers are read after the listing: an object a create made while it was listed is owned by then.
    const orphans = findOrphans(listing.listed, (id) => this.o.ledgers.get(id), inScope);
    // A drift pass that could not look everywhere makes the audit incomplete (like a handler that could not list).
    const driftFailures: ListingFailure[] = [];
    const drift = this.o.drift
      ? await this.o.drift({ partitions: [...owned].sort((a, b) => a - b), signal }).catch((err: unknown) => {
          driftFailures.push({ handler: 'drift probe', message: errorMessage(err) });
          return [];
        })
      : [];
    const detectedAt = this.now();
    const report: AuditReport = {
      startedAt,
      finishedAt: this.now(),
      partitions: [...owned].sort((a, b) => a - b),
      listed: listing.listed.filter((l) => inScope(l.object.sliverId ?? `${l.object.resourceType}:${l.object.name}`)).length,
      orphans: orphans.map((o) => orphanRecord(o, this.o.instanceId, detectedAt)),
      drift,
      failures: [...listing.failures, ...driftFailures],
      unlisted: listing.unlisted,
    };
    return { report, orphans };
  }
}

/** The drift record (kind ORPHAN) of an orphan; `repair` set in the record of a repair. */
export function orphanRecord(orphan: Orphan, instance: string, detectedAt: number, repair: DriftRepair | null = null): DriftReport {
  return {
    kind: 'ORPHAN',
    sliver_id: orphan.object.sliverId,
    slice_id: null,
    resource_type: orphan.object.resourceType,
    handler: orphan.handler,
    observed: 'EXISTS',
    differences: [describeOrphan(orphan)],
    expected: null,
    found: JSON.stringify({ name: orphan.object.name, created_at: orphan.object.createdAt, record: orphan.object.record }),
    applied_event_id: null,
    applied_sequence: orphan.ledger ? orphan.ledger.applied_sequence : null,
    detected_at: detectedAt,
    instance,
    repair,
  };
}
