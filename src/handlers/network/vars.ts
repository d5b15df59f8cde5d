import type { NetworkServiceSliver, SliverEvent } from '../../codec/types.js';
import { mirrorDirection } from './rules.js';
import { serviceName } from './service.js';
import type { NetworkSettings } from './settings.js';

/** Labels that steer the sim substrate (tests); production playbooks ignore them. */
export function simVars(labels: Record<string, string>): Record<string, unknown> {
  const delay = Number(labels['sim.delay_seconds'] ?? 0);
  return {
    // Failure injection: label `sim.fail_at: <step>` fails that playbook step.
    fail_at: labels['sim.fail_at'] ?? null,
    // Latency: label `sim.delay_seconds: <n>` makes the main step take that long.
    delay_seconds: Number.isFinite(delay) && delay > 0 ? delay : 0,
  };
}

/**
 * Extra vars of every network playbook, sim and production alike: the
 * service as one `service` mapping, plus where the substrate and the
 * controller are. Secrets (the NSO password) are not here: production
 * playbooks read them from the environment named by `controller.password_env`.
 */
export function serviceVars(event: SliverEvent, sliver: NetworkServiceSliver, settings: NetworkSettings): Record<string, unknown> {
  const ext = sliver.type === 'FABNetv4Ext' || sliver.type === 'FABNetv6Ext';
  return {
    service: {
      name: serviceName(event.sliver_id, sliver),
      sliver_id: event.sliver_id,
      slice_id: event.slice_id,
      type: sliver.type,
      interfaces: sliver.interfaces.map((i) => ({
        name: i.name,
        site: i.site,
        device: i.device,
        port: i.port,
        vlan: i.vlan,
        bandwidth: i.bandwidth,
        mac: i.mac,
        ipv4: i.ipv4,
        ipv6: i.ipv6,
        peering: i.peering,
      })),
      gateway: sliver.gateway,
      subnet: sliver.subnet,
      ero: sliver.ero,
      permitted: sliver.permitted,
      mirror: sliver.mirror ? { source: sliver.mirror.source, direction: mirrorDirection(sliver) } : null,
      border_routers: ext ? settings.network.border_routers : [],
    },
    state_dir: process.env.AMH_SIM_STATE_DIR ?? settings.substrate.state_dir,
    controller: {
      url: settings.controller.url,
      username: settings.controller.username,
      password_env: settings.controller.password_env,
      validate_certs: settings.controller.validate_certs,
    },
    ...simVars(sliver.labels),
  };
}

/** Vars of the delete playbook: the service's identity and the retry budget. */
export function deleteVars(event: SliverEvent, sliver: NetworkServiceSliver, settings: NetworkSettings): Record<string, unknown> {
  return {
    ...serviceVars(event, sliver, settings),
    delete_retries: settings.runtime.delete_retries,
    retry_delay: settings.runtime.retry_delay / 1000,
  };
}
