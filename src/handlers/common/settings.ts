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

/** A playbook file name, relative to `playbooks.location`. */
export function playbookFile(fallback: string) {
  return z.string().min(1).default(fallback);
}

/**
 * The keys every `playbooks:` section starts with (the reference's names):
 * `location` (sim or production folder) and `inventory_location` (null = a
 * generated localhost inventory; passed to every run as `-i`).
 */
export function playbooksBase(resolvePath: (p: string) => string) {
  return {
    /** Folder of the playbooks (sim: `playbooks/sim`; production: `playbooks/production`). */
    location: z.string().default('../playbooks/sim').transform(resolvePath),
    inventory_location: optionalPath(resolvePath),
  };
}
