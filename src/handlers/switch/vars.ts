import type { NodeSliver, SliverEvent } from '../../codec/types.js';
import { simVars } from '../network/vars.js';
import type { SwitchSettings } from './settings.js';
import { switchInstanceName } from './validate.js';

/**
 * Extra vars of every switch playbook, sim and production alike: the sliver
 * as one `switch` mapping, how to reach the switch (production), and where
 * the sim substrate keeps its state.
 */
export function switchVars(event: SliverEvent, sliver: NodeSliver & { worker: string }, settings: SwitchSettings): Record<string, unknown> {
  return {
    switch: {
      instance_name: switchInstanceName(event, sliver),
      sliver_id: event.sliver_id,
      slice_id: event.slice_id,
      name: sliver.name,
      site: sliver.site,
      device: sliver.worker,
      ports: sliver.interfaces.map((i) => ({ name: i.name, port: i.port, vlan: i.vlan, mac: i.mac, bandwidth: i.bandwidth })),
      ssh_keys: event.slice.user_ssh_keys.map((k) => k.key),
      mgmt_ipv6: settings.runtime.disable_fip || sliver.management.ipv6,
    },
    p4: {
      admin_user: settings.p4.admin_user,
      admin_ssh_key: settings.playbooks.admin_ssh_key,
      slice_user: settings.p4.slice_user,
      switchd_service: settings.p4.switchd_service,
    },
    ssh_retries: settings.runtime.ssh_retries,
    delete_retries: settings.runtime.delete_retries,
    retry_delay: settings.runtime.retry_delay / 1000,
    state_dir: process.env.AMH_SIM_STATE_DIR ?? settings.substrate.state_dir,
    ...simVars(sliver.labels),
  };
}
