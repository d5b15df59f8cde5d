import { auditNow } from '../audit/on-demand.js';
import type { AuditReport, DriftReport } from '../audit/types.js';
import { AmhError, KafkaSecurityError } from '../errors/index.js';
import { EXIT_CONFIG, EXIT_KAFKA_SECURITY, cliLogger, loadCliConfig, type CommonOptions } from './common.js';

/** `amh audit` exit statuses: clean, something found, the audit could not run or is incomplete. */
export const EXIT_AUDIT_CLEAN = 0;
export const EXIT_AUDIT_FOUND = 1;
export const EXIT_AUDIT_ERROR = 2;

export interface AuditCliOptions extends CommonOptions {
  json?: boolean;
}

/** The status of a report: incomplete (a substrate not listed) beats found, found beats clean. */
export function auditExitCode(report: AuditReport): number {
  if (report.failures.length > 0) return EXIT_AUDIT_ERROR;
  return report.orphans.length + report.drift.length > 0 ? EXIT_AUDIT_FOUND : EXIT_AUDIT_CLEAN;
}

/** `amh audit [--json]`: one audit over every partition; a table (or JSON) of drift and orphans. */
export async function auditCommand(opts: AuditCliOptions): Promise<void> {
  let code: number;
  try {
    const config = loadCliConfig(opts);
    const logger = cliLogger(config.logging.level === 'info' ? 'warn' : config.logging.level, config.logging.format);
    const report = await auditNow({ config, logger });
    process.stdout.write(opts.json ? `${JSON.stringify(asJson(report), null, 2)}\n` : formatReport(report));
    code = auditExitCode(report);
  } catch (err) {
    const message = err instanceof AmhError ? `${err.name}: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`amh audit: ${message}\n`);
    code = err instanceof KafkaSecurityError ? EXIT_KAFKA_SECURITY : err instanceof AmhError && err.code === 'CONFIG' ? EXIT_CONFIG : EXIT_AUDIT_ERROR;
  }
  process.exitCode = code;
}

export function asJson(report: AuditReport) {
  return {
    clean: report.orphans.length + report.drift.length === 0 && report.failures.length === 0,
    started_at: new Date(report.startedAt).toISOString(),
    finished_at: new Date(report.finishedAt).toISOString(),
    partitions: report.partitions,
    listed: report.listed,
    drift: report.drift,
    orphans: report.orphans,
    failures: report.failures,
    unlisted: report.unlisted,
  };
}

/** One row per finding (drift first), then what could not be audited and a summary line. */
export function formatReport(report: AuditReport): string {
  const rows = [...report.drift, ...report.orphans].map((r: DriftReport) => [
    r.kind,
    r.resource_type,
    r.sliver_id ?? '-',
    r.handler,
    r.observed,
    r.differences.join('; '),
  ]);
  const lines: string[] = [];
  if (rows.length > 0) {
    const header = ['KIND', 'TYPE', 'SLIVER', 'HANDLER', 'OBSERVED', 'WHAT'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
    lines.push(line(header), ...rows.map(line));
    lines.push('');
  }
  for (const f of report.failures) lines.push(`could not list the substrate of handler ${f.handler}: ${f.message}`);
  if (report.unlisted.length > 0) lines.push(`not audited (their plugins cannot list a substrate): ${report.unlisted.join(', ')}`);
  lines.push(
    `${report.drift.length} drifted sliver(s), ${report.orphans.length} orphan(s) among ${report.listed} substrate object(s), ` +
      `${report.partitions.length} partition(s)${report.failures.length > 0 ? '; INCOMPLETE' : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
