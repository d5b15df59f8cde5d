import { z } from 'zod';

/**
 * `handlers.<entry>` settings of the VM plugin. Keys follow the reference's
 * vm_handler_config.yml (playbooks.location, playbooks.VM,
 * playbooks.operation.delete, runtime.ssh_retries, ...).
 */
export function vmSettingsSchema(resolvePath: (p: string) => string) {
  return z
    .object({
      playbooks: z
        .object({
          /** Folder of the playbooks (sim: `playbooks/sim`; production: `playbooks/production`). */
          location: z.string().default('../playbooks/sim').transform(resolvePath),
          /** Inventory for production playbooks; null = a generated localhost inventory. */
          inventory_location: z.string().nullable().default(null).transform((p) => (p === null ? null : resolvePath(p))),
          /** Playbook that creates the VM (relative to `location`). */
          VM: z.string().default('vm_create.yml'),
          operation: z
            .object({ delete: z.string().default('vm_delete.yml') })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      runtime: z
        .object({
          /** SSH reachability attempts after boot and reboot. */
          ssh_retries: z.number().int().min(1).default(10),
          /** Attempts per delete step before the delete is reported FAILED. */
          delete_retries: z.number().int().min(1).default(3),
          /** Use IPv6 management addresses instead of floating IPv4. */
          disable_fip: z.boolean().default(false),
          /** Upper bound on requested capacities; null = no cap. */
          max_flavor: z
            .object({ core: z.number().int().min(1), ram: z.number().int().min(1), disk: z.number().int().min(1) })
            .strict()
            .nullable()
            .default(null),
          /** Allowed images and their default login user; empty = any image. */
          images: z.record(z.string(), z.string()).default({}),
        })
        .strict()
        .prefault({}),
      substrate: z
        .object({
          /** Sim substrate: where the "hardware" state lives. Env AMH_SIM_STATE_DIR overrides. */
          state_dir: z.string().default('../var/sim').transform(resolvePath),
        })
        .strict()
        .prefault({}),
    })
    .strict();
}

export type VmSettings = z.output<ReturnType<typeof vmSettingsSchema>>;
