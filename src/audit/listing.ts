import type { HostStats, PlaybookRunner } from '../ansible/types.js';
import { stepRunner } from '../dispatch/playbook-step.js';
import { errorMessage } from '../errors/index.js';
import { HandlerRegistry, type RegisteredHandler } from '../handlers/registry.js';
import type { Logger } from '../observability/logger.js';
import { linkSignals } from '../lib/abort.js';
import type { Listed, ListingFailure } from './types.js';

export interface ListingOptions {
  registry: HandlerRegistry;
  runner: PlaybookRunner;
  killGraceMs: number;
  logger: Logger;
  signal: AbortSignal;
  /**
   * Runs one handler's listing; the service passes its concurrency bound (`lanes.withSlot`), so a listing
   * takes a slot like an operation and never crowds events out. Default: run at once.
   */
  withSlot?: <T>(task: () => Promise<T>) => Promise<T>;
}

export interface SubstrateListing {
  listed: Listed[];
  failures: ListingFailure[];
  /** Handlers without a `list` function. */
  unlisted: string[];
}

/**
 * Lists every handler's substrate, one handler after the other, each under its PROBE timeout (else its
 * default one). A handler whose listing fails is reported as a failure; the others still count. Objects
 * of a resource type the handler does not serve here (renamed `resource_types`) count as its first type.
 */
export async function listSubstrates(o: ListingOptions): Promise<SubstrateListing> {
  const result: SubstrateListing = { listed: [], failures: [], unlisted: [] };
  for (const handler of o.registry.handlers()) {
    if (o.signal.aborted) break;
    if (typeof handler.plugin.list !== 'function') {
      result.unlisted.push(handler.name);
      continue;
    }
    const logger = o.logger.child({ handler: handler.name, audit: 'list' });
    try {
      const run = () => listOne(handler, o, logger);
      const objects = await (o.withSlot ? o.withSlot(run) : run());
      for (const object of objects) {
        const resourceType = handler.resourceTypes.includes(object.resourceType) ? object.resourceType : (handler.resourceTypes[0] ?? object.resourceType);
        result.listed.push({ handler: handler.name, object: { ...object, resourceType } });
      }
      logger.debug({ objects: objects.length }, 'substrate listed');
    } catch (err) {
      logger.warn({ err }, `listing the substrate of handler ${handler.name} failed: ${errorMessage(err)}`);
      result.failures.push({ handler: handler.name, message: errorMessage(err) });
    }
  }
  return result;
}

async function listOne(handler: RegisteredHandler, o: ListingOptions, logger: Logger) {
  const list = handler.plugin.list;
  if (!list) return [];
  const timeoutMs = HandlerRegistry.timeoutFor(handler, 'PROBE');
  const timeout = AbortSignal.timeout(timeoutMs);
  const limit = linkSignals(o.signal, timeout);
  try {
    const stats = new Map<string, HostStats>();
    const runPlaybook = stepRunner({
      runner: o.runner,
      signal: limit.signal,
      timedOut: () => timeout.aborted,
      logger,
      inventory: handler.plugin.inventory?.(handler.settings) ?? null,
      killGraceMs: o.killGraceMs,
      stats,
      runs: { count: 0 },
      ...(typeof handler.warm === 'boolean' ? { warm: handler.warm } : {}),
    });
    return await list.call(handler.plugin, { signal: limit.signal, logger, runPlaybook, config: handler.settings });
  } finally {
    limit.dispose();
  }
}
