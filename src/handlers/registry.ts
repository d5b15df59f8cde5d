import type { OperationTimeouts, RepairPolicy, ResolvedConfig, RetryPolicy } from '../config/index.js';
import { parseOrThrow } from '../config/index.js';
import type { Operation } from '../codec/types.js';
import { ConfigError, UnknownResourceTypeError } from '../errors/index.js';
import { OPERATION_FUNCTION, type AnyHandlerPlugin } from './types.js';

/** One configured handler: a plugin with its settings, serving some resource types. */
export interface RegisteredHandler {
  /** Name of the entry under `handlers:` in the config. */
  name: string;
  plugin: AnyHandlerPlugin;
  settings: unknown;
  resourceTypes: readonly string[];
  timeouts: OperationTimeouts;
  retry: RetryPolicy;
  /** What the reconciler may repair (`handlers.<name>.repair`). */
  repair: RepairPolicy;
  /** Warm runner for its playbooks: true/false, or null for the runner's default (`runtime.warm_runner.enabled`). */
  warm?: boolean | null;
}

const COMMON_KEYS = new Set(['plugin', 'resource_types', 'timeouts', 'retry', 'repair', 'warm_runner']);

/**
 * Maps resource types to handlers, like the reference's per-type
 * registration. Built once at start-up from `handlers:`; every problem is a
 * ConfigError naming its path.
 */
export class HandlerRegistry {
  private readonly byType = new Map<string, RegisteredHandler>();

  constructor(handlers: readonly RegisteredHandler[]) {
    for (const handler of handlers) {
      for (const type of handler.resourceTypes) {
        const other = this.byType.get(type);
        if (other) {
          throw new ConfigError(
            `\`handlers.${handler.name}.resource_types\`: '${type}' is already served by \`handlers.${other.name}\``,
          );
        }
        this.byType.set(type, handler);
      }
    }
  }

  static fromConfig(config: ResolvedConfig, plugins: readonly AnyHandlerPlugin[]): HandlerRegistry {
    const byName = new Map(plugins.map((p) => [p.name, p]));
    const handlers = Object.entries(config.handlers).map(([name, entry]): RegisteredHandler => {
      const pluginName = entry.plugin ?? name;
      const plugin = byName.get(pluginName);
      if (!plugin) {
        throw new ConfigError(
          `\`handlers.${name}.plugin\`: unknown plugin '${pluginName}'; built-in plugins: ${[...byName.keys()].join(', ')}`,
        );
      }
      const own = Object.fromEntries(Object.entries(entry).filter(([key]) => !COMMON_KEYS.has(key)));
      const settings = parseOrThrow(plugin.settingsSchema(config.resolvePath), own, config.source, ['handlers', name], config.envOrigins);
      return { name, plugin, settings, resourceTypes: entry.resource_types ?? plugin.resourceTypes, timeouts: entry.timeouts, retry: entry.retry, repair: entry.repair, warm: entry.warm_runner };
    });
    return new HandlerRegistry(handlers);
  }

  /** The handler for a resource type; UnknownResourceTypeError (listing the known types) otherwise. */
  resolve(resourceType: string): RegisteredHandler {
    const handler = this.byType.get(resourceType);
    if (!handler) throw new UnknownResourceTypeError(resourceType, this.resourceTypes());
    return handler;
  }

  /** The handler for a resource type, or undefined. */
  find(resourceType: string): RegisteredHandler | undefined {
    return this.byType.get(resourceType);
  }

  resourceTypes(): string[] {
    return [...this.byType.keys()].sort();
  }

  handlers(): RegisteredHandler[] {
    return [...new Set(this.byType.values())];
  }

  static timeoutFor(handler: RegisteredHandler, operation: Operation): number {
    return handler.timeouts[operation] ?? handler.timeouts.default;
  }

  static supports(handler: RegisteredHandler, operation: Operation): boolean {
    return typeof handler.plugin[OPERATION_FUNCTION[operation]] === 'function';
  }
}
