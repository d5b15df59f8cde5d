import { z } from 'zod';
import { playbookFile, playbooksBase, substrateSettings } from '../common/settings.js';
import { duration } from '../../config/duration.js';

const playbook = playbookFile;

/**
 * `handlers.<entry>` settings of the network plugin. Keys follow the
 * reference's net handler config (playbooks.location, inventory_location,
 * one playbook per resource type, operation.*, cleanup.*, delete_retries,
 * network.border_routers); `controller` is ours. The retry policy is the
 * handler entry's generic `retry` (src/config/schema.ts).
 */
export function networkSettingsSchema(resolvePath: (p: string) => string) {
  return z
    .object({
      playbooks: z
        .object({
          ...playbooksBase(resolvePath),
          /** Playbook that creates a service of each type (relative to `location`); the type is passed in `service.type`. */
          L2Bridge: playbook('net_create.yml'),
          L2PTP: playbook('net_create.yml'),
          L2STS: playbook('net_create.yml'),
          FABNetv4: playbook('net_create.yml'),
          FABNetv6: playbook('net_create.yml'),
          FABNetv4Ext: playbook('net_create.yml'),
          FABNetv6Ext: playbook('net_create.yml'),
          L3VPN: playbook('net_create.yml'),
          PortMirror: playbook('net_create.yml'),
          operation: z
            .object({
              /** Deletes a service (and frees its VLANs); also the first half of a modify. */
              delete: playbook('net_delete.yml'),
              /** Reports the observed state of a service without changing it. */
              probe: playbook('net_probe.yml'),
              /** Lists every service on the substrate, with its sliver id where it can tell (the orphan audit); changes nothing. */
              list: playbook('net_list.yml'),
            })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      cleanup: z
        .object({
          /** Undoes a create that failed part-way (run under `timeouts.cleanup`). */
          ALL: playbook('net_delete.yml'),
          /** With `keep_failed`: marks the service of a failed create as failed, kept for diagnosis (instead of ALL). */
          mark_failed: playbook('net_mark_failed.yml'),
        })
        .strict()
        .prefault({}),
      runtime: z
        .object({
          /** Attempts of the delete step before the delete is reported FAILED (never reported OK). */
          delete_retries: z.number().int().min(1).default(3),
          /** Wait between delete attempts. */
          retry_delay: duration.default(2_000),
        })
        .strict()
        .prefault({}),
      network: z
        .object({
          /** Border routers that FABNetv4Ext/FABNetv6Ext services are announced through; those types are REJECTED without any. */
          border_routers: z.array(z.string().min(1)).default([]),
        })
        .strict()
        .prefault({}),
      /** The NSO controller the production playbooks talk to (RESTCONF); unused by the sim. */
      controller: z
        .object({
          url: z.url().nullable().default(null),
          username: z.string().default('admin'),
          /** Environment variable the playbooks read the password from; it never passes through events or extra vars. */
          password_env: z.string().default('AMH_NSO_PASSWORD'),
          validate_certs: z.boolean().default(true),
        })
        .strict()
        .prefault({}),
      /**
       * Leave what a failed create made (VLANs reserved, service record) in
       * place, marked failed, for diagnosis, instead of rolling it back; a later CLOSE removes it.
       */
      keep_failed: z.boolean().default(false),
      substrate: substrateSettings(resolvePath),
    })
    .strict();
}

export type NetworkSettings = z.output<ReturnType<typeof networkSettingsSchema>>;
