import { join } from 'node:path';
import { z } from 'zod';
import { optionalPath as optionalPathSchema, playbookFile, playbooksBase, substrateSettings } from '../common/settings.js';
import { duration } from '../../config/index.js';

/** Component types the VM handler provisions, each with a playbook of its own (`playbooks.<type>`). */
export const COMPONENT_TYPES = ['GPU', 'SmartNIC', 'SharedNIC', 'FPGA', 'NVME', 'Storage'] as const;
export type ComponentType = (typeof COMPONENT_TYPES)[number];

/** `playbooks.operation.*`: one playbook per operation that is not a create. */
export const OPERATION_PLAYBOOKS = ['delete', 'probe', 'list', 'reboot', 'cpuinfo', 'numainfo', 'cpupin', 'numatune', 'rescan'] as const;
/** `playbooks.config.*`: configuration inside the guest. */
export const CONFIG_PLAYBOOKS = ['post_boot', 'SmartNIC', 'SharedNIC', 'Storage', 'ssh_keys'] as const;
/**
 * `playbooks.cleanup.*`: NVME wipe, ALL = remove everything of a sliver after
 * a failed create, mark_failed = mark a failed create kept for diagnosis (`keep_failed`).
 */
export const CLEANUP_PLAYBOOKS = ['NVME', 'ALL', 'mark_failed'] as const;

/** A playbook by its config path, e.g. `VM`, `GPU`, `operation.delete`, `config.SmartNIC`, `cleanup.NVME`. */
export type PlaybookKey =
  | 'VM'
  | ComponentType
  | `operation.${(typeof OPERATION_PLAYBOOKS)[number]}`
  | `config.${(typeof CONFIG_PLAYBOOKS)[number]}`
  | `cleanup.${(typeof CLEANUP_PLAYBOOKS)[number]}`;

const file = playbookFile;

/**
 * `handlers.<entry>` settings of the VM plugin. Keys follow the reference's
 * vm_handler_config.yml (playbooks.location, playbooks.VM, playbooks.GPU,
 * playbooks.operation.delete, playbooks.config.SmartNIC, playbooks.cleanup.NVME,
 * runtime.ssh_retries, ...). Playbook names are relative to `playbooks.location`;
 * the sim and production folders use the same names, so switching the folder
 * switches the substrate.
 */
export function vmSettingsSchema(resolvePath: (p: string) => string) {
  const optionalPath = optionalPathSchema(resolvePath);
  return z
    .object({
      playbooks: z
        .object({
          ...playbooksBase(resolvePath),
          /** Private key the production playbooks log into VMs with (reference: admin_ssh_key); null = none. */
          admin_ssh_key: optionalPath,
          /** Boots the VM: validate, boot with user keys, management IP, wait for SSH, report its instance name. */
          VM: file('vm_create.yml'),
          /** Attach/detach one component (`component_op: attach|detach`): PCI passthrough or a volume. */
          GPU: file('vm_pci.yml'),
          SmartNIC: file('vm_pci.yml'),
          SharedNIC: file('vm_pci.yml'),
          FPGA: file('vm_pci.yml'),
          NVME: file('vm_pci.yml'),
          Storage: file('vm_volume.yml'),
          operation: z
            .object({
              delete: file('vm_delete.yml'),
              probe: file('vm_probe.yml'),
              /** Lists every VM on the substrate with its sliver id (the orphan audit); changes nothing. */
              list: file('vm_list.yml'),
              reboot: file('vm_reboot.yml'),
              cpuinfo: file('vm_poa.yml'),
              numainfo: file('vm_poa.yml'),
              cpupin: file('vm_poa.yml'),
              numatune: file('vm_poa.yml'),
              rescan: file('vm_poa.yml'),
            })
            .strict()
            .prefault({}),
          config: z
            .object({
              post_boot: file('vm_post_boot.yml'),
              SmartNIC: file('vm_nic_config.yml'),
              SharedNIC: file('vm_nic_config.yml'),
              Storage: file('vm_storage_config.yml'),
              ssh_keys: file('vm_ssh_keys.yml'),
            })
            .strict()
            .prefault({}),
          cleanup: z
            .object({
              NVME: file('vm_nvme_cleanup.yml'),
              ALL: file('vm_delete.yml'),
              /** With `keep_failed`: marks the VM of a failed create as failed, kept for diagnosis (instead of ALL). */
              mark_failed: file('vm_mark_failed.yml'),
            })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      runtime: z
        .object({
          /** SSH reachability attempts after boot and reboot. */
          ssh_retries: z.number().int().min(1).default(10),
          /** Attempts per delete step (detach, wipe, delete, leftovers) before the delete is reported FAILED. */
          delete_retries: z.number().int().min(1).default(3),
          /** Pause between those attempts (ssh and delete). */
          retry_delay: duration.default(5_000),
          /** Use IPv6 management addresses instead of floating IPv4. */
          disable_fip: z.boolean().default(false),
          /** Upper bound on requested capacities; null = no cap. */
          max_flavor: z
            .object({ core: z.number().int().min(1), ram: z.number().int().min(1), disk: z.number().int().min(1) })
            .strict()
            .nullable()
            .default(null),
          /** Allowed images and their default login user; empty = any image (login user `root`). */
          images: z.record(z.string(), z.string()).default({}),
        })
        .strict()
        .prefault({}),
      /**
       * Leave the VM of a failed create in place, marked failed, for diagnosis,
       * instead of rolling it back; a later CLOSE removes it (NVMEs wiped as ever).
       */
      keep_failed: z.boolean().default(false),
      substrate: substrateSettings(resolvePath),
    })
    .strict();
}

export type VmSettings = z.output<ReturnType<typeof vmSettingsSchema>>;

/** Absolute path of a configured playbook. */
export function playbookPath(settings: VmSettings, key: PlaybookKey): string {
  const p = settings.playbooks;
  const [group, name] = key.split('.') as [string, string | undefined];
  let fileName: string;
  if (name === undefined) fileName = p[group as 'VM' | ComponentType];
  else if (group === 'operation') fileName = p.operation[name as keyof typeof p.operation];
  else if (group === 'config') fileName = p.config[name as keyof typeof p.config];
  else fileName = p.cleanup[name as keyof typeof p.cleanup];
  return join(p.location, fileName);
}

/** Every configured playbook by its config path (for `amh handlers`). */
export function allPlaybooks(settings: VmSettings): Record<string, string> {
  const keys: PlaybookKey[] = [
    'VM',
    ...COMPONENT_TYPES,
    ...OPERATION_PLAYBOOKS.map((k) => `operation.${k}` as const),
    ...CONFIG_PLAYBOOKS.map((k) => `config.${k}` as const),
    ...CLEANUP_PLAYBOOKS.map((k) => `cleanup.${k}` as const),
  ];
  return Object.fromEntries(keys.map((k) => [k, playbookPath(settings, k)]));
}
