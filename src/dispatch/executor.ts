import type { HostStats, PlaybookRunner } from '../ansible/types.js';
import type { Outcome, PoaResult, SliverEvent, SliverResult } from '../codec/types.js';
import {
  AmhError,
  CancelledError,
  OperationTimeoutError,
  PlaybookError,
  ValidationError,
  errorMessage,
} from '../errors/index.js';
import { HandlerRegistry, type RegisteredHandler } from '../handlers/registry.js';
import { OPERATION_FUNCTION, type HandlerFunction, type HandlerOutcome } from '../handlers/types.js';
import type { Logger } from '../observability/logger.js';
import { RESULT_CODES, buildResult } from '../results/builder.js';
import { deadlineOn, deadlineSignal, linkSignals, type Deadline } from '../lib/abort.js';
import { stepRunner, type StepProgress } from './playbook-step.js';
import { backoffDelay, shouldRetry, sleep } from './retry.js';
import { validateEvent } from './validate-event.js';

export interface ExecutorOptions {
  registry: HandlerRegistry;
  runner: PlaybookRunner;
  killGraceMs: number;
  now?: () => number;
}

export interface ExecuteOptions {
  logger: Logger;
  /** Cancels the operation (shutdown, superseded by a CLOSE); the result is CANCELLED with the abort reason. */
  signal?: AbortSignal;
  /**
   * The controller of `signal`, when the caller made it for this one operation (the pipeline does): the
   * operation's deadline then aborts it directly, instead of a second controller linked to `signal` by a
   * listener (on the hot path, one controller and one listener fewer per operation). Its signal then also
   * aborts at the deadline; `execute` still answers TIMED_OUT for that, and CANCELLED only for the caller's own abort.
   */
  controller?: AbortController;
  /** Aborted at the service's hard shutdown deadline: ends even cleanup runs (which otherwise outlive a cancellation). */
  hardStop?: AbortSignal;
  /** The Kafka message key, checked against sliver_id. */
  messageKey?: string | null;
  /** Live progress of the operation's playbooks: each task start, with its step (n-th playbook run). */
  onProgress?: (progress: StepProgress) => void;
  /** CPU niceness of its playbook runs (background work such as reconciliation probes); default: the service's. */
  nice?: number;
}

/**
 * Runs one event through its handler and always returns a result: nothing
 * thrown inside a handler escapes, every failure becomes an outcome.
 * Transient failures are retried in place with exponential backoff, inside
 * the operation's timeout, so the sliver's later events keep their order.
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
    let attempts = 0;
    const finish = (outcome: Outcome, fields: { message: string; err?: unknown; result?: HandlerOutcome }) =>
      buildResult(event, {
        outcome,
        message: fields.message,
        errorCode: fields.err === undefined ? null : fields.err instanceof AmhError ? fields.err.code : 'EXCEPTION',
        failedStep: fields.err instanceof PlaybookError ? (fields.err.step ?? null) : null,
        // A failure that left the sliver in place (keep_failed) says what is there.
        sliver: fields.result?.sliver ?? (fields.err instanceof AmhError ? fields.err.sliver : undefined) ?? null,
        poa: fields.result?.poa ?? failedPoa(event, outcome, fields.message),
        hostStats: [...stats.values()],
        startedAt,
        finishedAt: this.now(),
        attempts: Math.max(attempts, 1),
        handler: handler?.name ?? '',
      });
    // The operation's deadline, on its own controller or linked to its signal: one timer, gone when it ends.
    let deadline: Deadline | undefined;
    try {
      handler = this.options.registry.resolve(event.resource_type);
      const fn = this.prepare(event, handler, opts);
      const timeoutMs = HandlerRegistry.timeoutFor(handler, event.operation);
      const own = opts.controller && opts.controller.signal === opts.signal ? opts.controller : undefined;
      const timeout = (deadline = own ? deadlineOn(own, timeoutMs) : deadlineSignal(timeoutMs, opts.signal));
      const { signal } = timeout;
      const aborted = (): PlaybookError | null => {
        if (!signal.aborted) return null;
        if (timeout.timedOut) return new OperationTimeoutError(`timed out after ${timeoutMs} ms`, undefined);
        return new CancelledError(`cancelled: ${errorMessage(opts.signal?.reason ?? 'aborted')}`, undefined);
      };
      const inventory = handler.plugin.inventory?.(handler.settings) ?? null;
      const steps = {
        runner: this.options.runner,
        logger: opts.logger,
        killGraceMs: this.options.killGraceMs,
        stats,
        inventory,
        runs: { count: 0 },
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.nice !== undefined ? { nice: opts.nice } : {}),
        ...(typeof handler.warm === 'boolean' ? { warm: handler.warm } : {}),
      };
      const { cleanup } = handler.timeouts;
      const { retry } = handler;
      for (;;) {
        attempts++;
        try {
          const result = await fn(event, {
            signal,
            logger: opts.logger,
            config: handler.settings,
            runPlaybook: stepRunner({ ...steps, signal, timedOut: () => timeout.timedOut }),
            runCleanup: async (playbook, vars) => {
              const timeout = AbortSignal.timeout(cleanup);
              const limit = linkSignals(timeout, opts.hardStop);
              try {
                return await stepRunner({ ...steps, signal: limit.signal, timedOut: () => timeout.aborted })(playbook, vars);
              } finally {
                limit.dispose();
              }
            },
          });
          // A handler that ignored its signal still must not report success late.
          const late = aborted();
          if (late) throw late;
          return finish('OK', { message: result.message ?? `${event.operation} of ${event.resource_type} done`, result });
        } catch (err) {
          if (err instanceof CancelledError && !timeout.timedOut && opts.signal?.aborted) {
            const cancelled = new CancelledError(`cancelled: ${errorMessage(opts.signal.reason)} (during ${err.step ?? 'the operation'})`, err.step);
            if (err.sliver) cancelled.sliver = err.sliver;
            throw cancelled;
          }
          if (!shouldRetry(err, attempts, retry) || signal.aborted) throw err;
          const delayMs = backoffDelay(retry, attempts);
          opts.logger.warn({ err, attempt: attempts, delayMs }, `transient failure; retrying in ${delayMs} ms`);
          await sleep(delayMs, signal);
          const stop = aborted();
          if (stop) throw stop;
        }
      }
    } catch (err) {
      const outcome = outcomeOf(err);
      opts.logger[outcome === 'REJECTED' ? 'warn' : 'error']({ err, outcome, attempts }, `${event.operation} ${outcome}: ${errorMessage(err)}`);
      return finish(outcome, { message: errorMessage(err), err });
    } finally {
      deadline?.dispose();
    }
  }

  /** The handler function for the event, after every check that needs no playbook. */
  private prepare(event: SliverEvent, handler: RegisteredHandler, opts: ExecuteOptions): HandlerFunction<unknown> {
    return handlerFunction(event, handler, opts.messageKey ?? null);
  }
}

/**
 * The handler function for an event, after every check that needs no
 * playbook (the event's own rules, the operation supported, the plugin's
 * `validate`); a ValidationError (answered REJECTED) otherwise. Shared by
 * the executor and `amh plan`.
 */
export function handlerFunction(event: SliverEvent, handler: RegisteredHandler, messageKey: string | null): HandlerFunction<unknown> {
  validateEvent(event, messageKey);
  const fn = handler.plugin[OPERATION_FUNCTION[event.operation]];
  if (!fn) {
    const supported = (Object.keys(OPERATION_FUNCTION) as (keyof typeof OPERATION_FUNCTION)[]).filter((op) =>
      HandlerRegistry.supports(handler, op),
    );
    throw new ValidationError(
      `handler '${handler.name}' does not support ${event.operation} of ${event.resource_type}; supported: ${supported.join(', ')}`,
    );
  }
  handler.plugin.validate?.(event, handler.settings);
  return fn;
}

/** A POA that did not succeed still answers in the reference's POA shape, with a non-zero code. */
function failedPoa(event: SliverEvent, outcome: Outcome, message: string): PoaResult | null {
  if (event.operation !== 'POA' || !event.poa || outcome === 'OK') return null;
  return { operation: event.poa.operation, poa_id: event.poa.poa_id, code: RESULT_CODES[outcome], info_json: null, message };
}

function outcomeOf(err: unknown): Outcome {
  if (err instanceof ValidationError) return 'REJECTED';
  if (err instanceof OperationTimeoutError) return 'TIMED_OUT';
  if (err instanceof CancelledError) return 'CANCELLED';
  return 'FAILED';
}
