import type { Logger } from './logger.js';

/** pino's level methods: a call at a level the parent does not write is a no-op and needs no child. */
const LEVEL_METHODS = new Set<PropertyKey>(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = (): void => {};

/**
 * A child logger made on first use. Until a line is written at an enabled
 * level (or anything else of the child is asked for), no pino child exists
 * and its bindings are not serialized: an event at a quiet level (`warn`,
 * `silent`) costs no logger at all. `own` answers for properties the caller
 * keeps apart from the child (e.g. the scrubber symbol): a value it returns
 * (not undefined) is the answer, without making the child.
 *
 * The level is the parent's until the child exists (a child's level can only
 * differ once someone set it, and setting it makes the child).
 */
export function lazyLogger(parent: Logger, make: () => Logger, own?: (prop: PropertyKey) => unknown): Logger {
  let real: Logger | null = null;
  const bound = new Map<PropertyKey, unknown>();
  const materialize = (): Logger => (real ??= make());
  // An empty target: none of pino's own properties binds the proxy to answer like the parent.
  return new Proxy({} as Logger, {
    get(_target, prop) {
      if (own) {
        const mine = own(prop);
        if (mine !== undefined) return mine;
      }
      if (real === null && LEVEL_METHODS.has(prop) && !parent.isLevelEnabled(prop as string)) return noop;
      const target = materialize();
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      let fn = bound.get(prop);
      if (fn === undefined || (fn as { original?: unknown }).original !== value) {
        const b = (value as (...args: unknown[]) => unknown).bind(target) as ((...args: unknown[]) => unknown) & { original?: unknown };
        b.original = value;
        bound.set(prop, (fn = b));
      }
      return fn;
    },
    set(_target, prop, value) {
      return Reflect.set(materialize(), prop, value);
    },
    has(_target, prop) {
      return Reflect.has(materialize(), prop);
    },
    getPrototypeOf() {
      return Reflect.getPrototypeOf(materialize());
    },
  });
}
