import type { HostStats, PlaybookRunner } from '../ansible/types.js';
import type { Outcome, SliverEvent, SliverResult } from '../codec/types.js';
import { AmhError, CancelledError, OperationTimeoutError, PlaybookError, ValidationError, errorMessage } from '../errors/index.js';
import { HandlerRegistry, type RegisteredHandler } from '../handlers/registry.js';
import { OPERATION_FUNCTION } from '../handlers/types.js';
import type { Logger } from '../observability/logger.js';
import { buildResult } from '../results/builder.js';
import { stepRunner } from './playbook-step.js';
import { validateEvent } from './validate-event.js';

export interface ExecutorOptions {
  registry: HandlerRegistry;
  runner: PlaybookRunner;
  killGraceMs: number;
  now?: () => number;
}

export interface ExecuteOptions {
  logger: Logger;
  /** Cancels the operation (shutdown, superseded); the result is CANCELLED. */
  signal?: AbortSignal;
  /** The Kafka message key, checked against sliver_id. */
  messageKey?: string | null;
}

/**
 * Runs one event through its handler and always returns a result: nothing
 * thrown inside a handler escapes, every failure becomes an outcome.
 */
export class Executor {
  private readonly now: () => number;

  constructor(private readonly options: ExecutorOptions) {
    this.now = options.now ?? Date.now;
  }

  async execute(event: SliverEvent, opts: ExecuteOptions): Promise<SliverResult> {
    const startedAt = this.now();
    const stats = new Map<string, HostStats>();
    let handler: RegisteredHandler | undefined;
    try {
      handler = this.options.registry.resolve(event.resource_type);
      validateEvent(event, opts.messageKey ?? null);
      const fn = handler.plugin[OPERATION_FUNCTION[event.operation]];
      if (!fn) {
        const supported = (Object.keys(OPERATION_FUNCTION) as (keyof typeof OPERATION_FUNCTION)[])
          .filter((op) => HandlerRegistry.supports(handler as RegisteredHandler, op));
        throw new ValidationError(
          `handler '${handler.name}' does not support ${event.operation} of ${event.resource_type}; supported: ${supported.join(', ')}`,
        );
      }
      handler.plugin.validate?.(event, handler.settings);

      const timeoutMs = HandlerRegistry.timeoutFor(handler, event.operation);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      const steps = { runner: this.options.runner, logger: opts.logger, killGraceMs: this.options.killGraceMs, stats };
      const cleanupMs = handler.timeouts.cleanup;
      const outcome = await fn(event, {
        signal,
        logger: opts.logger,
        config: handler.settings,
        runPlaybook: stepRunner({ ...steps, signal, timedOut: () => timeout.aborted }),
        runCleanup: (playbook, vars) => {
          const limit = AbortSignal.timeout(cleanupMs);
          return stepRunner({ ...steps, signal: limit, timedOut: () => limit.aborted })(playbook, vars);
        },
      });
      // A handler that ignored its signal still must not report success late.
      if (signal.aborted) throw timeout.aborted ? new OperationTimeoutError(`timed out after ${timeoutMs} ms`, undefined) : new CancelledError('cancelled', undefined);
      return buildResult(event, {
        outcome: 'OK',
        message: outcome.message ?? `${event.operation} of ${event.resource_type} done`,
        sliver: outcome.sliver ?? null,
        poa: outcome.poa ?? null,
        hostStats: [...stats.values()],
        startedAt,
        finishedAt: this.now(),
        handler: handler.name,
      });
    } catch (err) {
      const outcome = outcomeOf(err);
      const level = outcome === 'REJECTED' ? 'warn' : 'error';
      opts.logger[level]({ err, outcome }, `${event.operation} ${outcome}: ${errorMessage(err)}`);
      return buildResult(event, {
        outcome,
        message: errorMessage(err),
        errorCode: err instanceof AmhError ? err.code : 'EXCEPTION',
        failedStep: err instanceof PlaybookError ? (err.step ?? null) : null,
        hostStats: [...stats.values()],
        startedAt,
        finishedAt: this.now(),
        handler: handler?.name ?? '',
      });
    }
  }
}

function outcomeOf(err: unknown): Outcome {
  if (err instanceof ValidationError) return 'REJECTED';
  if (err instanceof OperationTimeoutError) return 'TIMED_OUT';
  if (err instanceof CancelledError) return 'CANCELLED';
  return 'FAILED';
}
