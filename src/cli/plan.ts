import { randomUUID } from 'node:crypto';
import { createPlaybookRunner, locateAnsiblePlaybook } from '../ansible/index.js';
import { AvroCodec, SchemaCatalog } from '../codec/index.js';
import type { SliverEvent } from '../codec/types.js';
import { ValidationError } from '../errors/index.js';
import { BUILTIN_PLUGINS, HandlerRegistry } from '../handlers/index.js';
import { repoRoot } from '../paths.js';
import { formatPlan } from '../plan/format.js';
import { planEvent } from '../plan/plan.js';
import type { EventPlan } from '../plan/types.js';
import { cliLogger, loadCliConfig, type CommonOptions } from './common.js';
import { readEvents } from './event-file.js';

export interface PlanOptions extends CommonOptions {
  json?: boolean;
}

/** Exit statuses of `amh plan`: every event planned, one REJECTED, one that would fail. */
export const PLAN_EXIT = { PLANNED: 0, REJECTED: 1, WOULD_FAIL: 2 } as const;

/**
 * `amh plan FILE`: what the handler would do with each event of the file
 * (read as `amh send` reads it), without changing anything: no broker, no
 * playbook run but the read-only availability check. Exits non-zero when an
 * event is REJECTED (1) or would fail (2).
 */
export async function planCommand(file: string, opts: PlanOptions): Promise<void> {
  const config = loadCliConfig(opts);
  const logger = cliLogger(config.logging.level === 'info' ? 'warn' : config.logging.level, config.logging.format);
  const registry = HandlerRegistry.fromConfig(config, BUILTIN_PLUGINS);
  const catalog = SchemaCatalog.load();
  const codec = new AvroCodec(catalog);
  const runner = createPlaybookRunner({
    ansiblePlaybook: config.runtime.ansible_playbook ?? locateAnsiblePlaybook(repoRoot()),
    workDir: config.resolvePath(config.runtime.work_dir),
    defaultKillGraceMs: config.runtime.kill_grace,
    logger,
  });
  const plans: EventPlan[] = [];
  for (const raw of readEvents(file)) {
    const input = { ...raw, event_id: raw.event_id ?? randomUUID(), timestamp: raw.timestamp ?? Date.now() };
    let event: SliverEvent;
    try {
      // The same schema and defaults as an event on the wire.
      event = codec.complete<'event'>(catalog.current('event'), input);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      plans.push(rejectedByTheSchema(input, err.message));
      continue;
    }
    plans.push(await planEvent(event, { registry, runner, logger }));
  }
  process.stdout.write(opts.json ? `${JSON.stringify(plans, null, 2)}\n` : plans.map(formatPlan).join('\n'));
  process.exitCode = Math.max(...plans.map((p) => PLAN_EXIT[p.outcome]));
}

function rejectedByTheSchema(input: Record<string, unknown>, reason: string): EventPlan {
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    event: { event_id: text(input.event_id), sliver_id: text(input.sliver_id), resource_type: text(input.resource_type), operation: text(input.operation), sequence: Number(input.sequence ?? 0) },
    handler: null,
    outcome: 'REJECTED',
    reason,
    steps: [],
    assumptions: [],
    claims: [],
    availability: 'not checked',
    onFailure: null,
    message: null,
  };
}
