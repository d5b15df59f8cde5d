import { errorMessage } from '../errors/index.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { Logger } from '../observability/logger.js';
import { orphanRecord, type OrphanAuditor } from './auditor.js';
import { FirstSeen } from './first-seen.js';
import type { OrphanRepairer } from './repairer.js';
import type { AuditReport, DriftRepair, DriftReport, Orphan } from './types.js';

export interface AuditLoopOptions {
  auditor: OrphanAuditor;
  repairer: OrphanRepairer;
  /** Publishes one record on the drift topic (and tells the status page and metrics); may throw. */
  publish: (record: DriftReport) => Promise<void>;
  /** Each handler's `repair` settings, by entry name. */
  registry: HandlerRegistry;
  instanceId: string;
  /** The partitions this instance owns and has restored the ledgers of, now. */
  partitions: () => number[];
  /** `audit.interval`. */
  intervalMs: number;
  logger: Logger;
  /** Every pass, with the repairs it ran (metrics, tests). */
  onPass?: (pass: { report: AuditReport; repairs: { orphan: Orphan; repair: DriftRepair }[] }) => void;
  now?: () => number;
}

/** The identity of an orphan across passes (its handler, type and substrate name). */
export function orphanIdentity(o: Orphan): string {
  return `${o.handler}/${o.object.resourceType}:${o.object.name}`;
}

/**
 * The periodic orphan audit of an instance (`audit.interval`): every interval, one pass over the partitions
 * it owns; each orphan is published on the drift topic (again at every pass while it exists), and, where its
 * handler has `repair.orphans`, deleted once it was first seen more than `repair.orphan_grace` ago (the
 * repair is published as a second record). Passes never overlap. A failed pass is logged at error and the
 * next interval tries again (an audit only reports); stop() ends the pass running (its playbooks are
 * killed) and is idempotent.
 */
export class AuditLoop {
  private readonly firstSeen = new FirstSeen();
  private readonly stopController = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: AuditLoopOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    if (this.stopController.signal.aborted || this.timer) return;
    this.schedule();
  }

  /** Ends the loop: no new pass; the running one is aborted and awaited. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopController.abort(new Error('audit stopped'));
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await this.running;
    })();
    return this.stopping;
  }

  /** One pass now (also what each interval runs); resolves with its report. */
  async runOnce(): Promise<AuditReport | null> {
    const signal = this.stopController.signal;
    const partitions = this.o.partitions();
    if (partitions.length === 0 || signal.aborted) return null;
    const { report, orphans } = await this.o.auditor.audit(partitions, signal);
    for (const record of [...report.orphans, ...report.drift]) await this.o.publish(record);
    const since = this.firstSeen.observe(orphans.map(orphanIdentity), this.now());
    const repairs: { orphan: Orphan; repair: DriftRepair }[] = [];
    for (const orphan of orphans) {
      if (signal.aborted) break;
      const settings = this.o.registry.handlers().find((h) => h.name === orphan.handler)?.repair;
      if (!settings?.orphans) continue;
      const firstSeenAt = since.get(orphanIdentity(orphan)) ?? this.now();
      if (this.now() - firstSeenAt < settings.orphan_grace) continue;
      const repair = await this.o.repairer.repair(orphan);
      repairs.push({ orphan, repair });
      this.o.logger[repair.outcome === 'OK' || repair.outcome === 'SKIPPED' ? 'info' : 'error'](
        { orphan: orphan.object.name, sliverId: orphan.object.sliverId, repair },
        `orphan repair of ${orphan.object.resourceType} ${orphan.object.name}: ${repair.outcome}`,
      );
      await this.o.publish(orphanRecord(orphan, this.o.instanceId, this.now(), repair));
    }
    const level = report.orphans.length > 0 || report.failures.length > 0 ? 'warn' : 'info';
    this.o.logger[level](
      { partitions: report.partitions, listed: report.listed, orphans: report.orphans.length, failures: report.failures, repairs: repairs.length, durationMs: report.finishedAt - report.startedAt },
      `orphan audit: ${report.orphans.length} orphan(s) among ${report.listed} substrate object(s)${report.failures.length ? `; ${report.failures.length} handler(s) could not be listed` : ''}`,
    );
    this.o.onPass?.({ report, repairs });
    return report;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.runOnce()
        .then(() => undefined)
        .catch((err: unknown) => {
          if (this.stopController.signal.aborted) return;
          this.o.logger.error({ err }, `orphan audit pass failed (${errorMessage(err)}); the next interval tries again`);
        })
        .finally(() => {
          this.running = null;
          if (!this.stopController.signal.aborted) this.schedule();
        });
    }, this.o.intervalMs);
    this.timer.unref();
  }
}
