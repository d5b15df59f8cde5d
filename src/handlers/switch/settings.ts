import { z } from 'zod';
import { optionalPath as optionalPathSchema, playbookFile, playbooksBase, substrateSettings } from '../common/settings.js';
import { duration } from '../../config/duration.js';

const playbook = playbookFile;

/**
 * `handlers.<entry>` settings of the P4 switch plugin, in the shape of the
 * reference's handler configs (playbooks.location, inventory_location,
 * admin_ssh_key, playbooks.Switch, operation.*, cleanup.*, runtime.*).
 */
export function switchSettingsSchema(resolvePath: (p: string) => string) {
  const optionalPath = optionalPathSchema(resolvePath);
  return z
    .object({
      playbooks: z
        .object({
          ...playbooksBase(resolvePath),
          /** Private key the production playbooks log in to the switch with; null = the SSH agent / default keys. */
          admin_ssh_key: optionalPath,
          /** Playbook that provisions a P4 switch (relative to `location`). */
          Switch: playbook('switch_create.yml'),
          operation: z
            .object({
              delete: playbook('switch_delete.yml'),
              probe: playbook('switch_probe.yml'),
              /** Lists every switch a sliver holds (the orphan audit); changes nothing. */
              list: playbook('switch_list.yml'),
            })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      cleanup: z
        .object({
          /** Undoes a create that failed part-way (run under `timeouts.cleanup`). */
          ALL: playbook('switch_delete.yml'),
        })
        .strict()
        .prefault({}),
      runtime: z
        .object({
          /** SSH reachability attempts before the switch is configured. */
          ssh_retries: z.number().int().min(1).default(10),
          /** Attempts of the release step before the delete is reported FAILED. */
          delete_retries: z.number().int().min(1).default(3),
          /** Wait between delete attempts. */
          retry_delay: duration.default(2_000),
          /** Use IPv6 management addresses instead of IPv4. */
          disable_fip: z.boolean().default(false),
        })
        .strict()
        .prefault({}),
      p4: z
        .object({
          /** Account the production playbooks log in to the switch as (needs sudo). */
          admin_user: z.string().min(1).default('amh'),
          /** Account on the switch that receives the slice's SSH keys. */
          slice_user: z.string().min(1).default('p4user'),
          /** systemd unit of the switch driver, restarted once the ports are configured. */
          switchd_service: z.string().min(1).default('bf_switchd'),
        })
        .strict()
        .prefault({}),
      substrate: substrateSettings(resolvePath),
    })
    .strict();
}

export type SwitchSettings = z.output<ReturnType<typeof switchSettingsSchema>>;
