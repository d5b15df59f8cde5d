import { networkPlugin } from './network/index.js';
import { switchPlugin } from './switch/index.js';
import type { AnyHandlerPlugin } from './types.js';
import { vmPlugin } from './vm/index.js';

export { HandlerRegistry, type RegisteredHandler } from './registry.js';
export * from './types.js';

/** Plugins shipped with am-handlers, selectable with `handlers.<entry>.plugin`. */
export const BUILTIN_PLUGINS: readonly AnyHandlerPlugin[] = [vmPlugin, networkPlugin, switchPlugin];
