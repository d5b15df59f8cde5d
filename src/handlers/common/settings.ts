import { z } from 'zod';

/** Settings pieces every built-in plugin shares, so the keys mean the same in each. */

/** A path relative to the config file, or null. */
export function optionalPath(resolvePath: (p: string) => string) {
  return z
    .string()
    .nullable()
    .default(null)
    .transform((p) => (p === null ? null : resolvePath(p)));
}

/** `substrate:` — where the sim substrate keeps its "hardware" state (shared by all handlers). */
export function substrateSettings(resolvePath: (p: string) => string) {
  return z
    .object({
      /** Sim substrate state directory. Env AMH_SIM_STATE_DIR overrides. */
      state_dir: z.string().default('../var/sim').transform(resolvePath),
    })
    .strict()
    .prefault({});
}
