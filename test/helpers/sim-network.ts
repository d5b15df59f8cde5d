// Helpers for the network-service and P4-switch integration tests: a test
// service with all three sim handlers on one substrate directory, events as
// the AM sends them, a reply waiter, and readers of the substrate's state.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SliverResult } from '../../src/codec/types.js';
import { REPO } from './config.js';
import { startTestService, type TestService } from './service.js';

type Json = Record<string, unknown>;

/** Config for the vm, network and switch handlers: sim playbooks, one shared state dir, short delete retries. */
export function simHandlers(stateDir: string): Record<string, Record<string, unknown>> {
  const sim = join(REPO, 'playbooks/sim');
  return {
    handlers: {
      vm: { substrate: { state_dir: stateDir } },
      network: {
        plugin: 'network',
        playbooks: { location: sim },
        runtime: { delete_retries: 2, retry_delay: '0s' },
        network: { border_routers: ['sim-br-1'] },
        substrate: { state_dir: stateDir },
      },
      switch: {
        plugin: 'switch',
        playbooks: { location: sim },
        runtime: { delete_retries: 2, retry_delay: '0s' },
        substrate: { state_dir: stateDir },
      },
    },
  };
}

export interface SimNetworkService extends TestService {
  /** Sends the events and resolves with their results, in the same order (from the service's `result` events). */
  roundTrip(...events: Json[]): Promise<SliverResult[]>;
  substrate: SimSubstrate;
}

/** A real Service (test broker, real ansible-playbook) with the three sim handlers. */
export async function startSimNetworkService(extra: Record<string, Record<string, unknown>> = {}): Promise<SimNetworkService> {
  const stateDir = mkdtempSync(join(tmpdir(), 'amh-simnet-'));
  const { handlers: extraHandlers, ...rest } = extra;
  const base = simHandlers(stateDir).handlers as Record<string, Record<string, unknown>>;
  // Per handler, `extra.handlers.<h>` keys replace the defaults above (one level deep).
  for (const [name, settings] of Object.entries(extraHandlers ?? {})) base[name] = { ...base[name], ...(settings as Json) };
  const amh = await startTestService({ ...rest, handlers: base });
  const results = new Map<string, SliverResult>();
  const waiters = new Map<string, (r: SliverResult) => void>();
  amh.service.events.on('result', ({ result }) => {
    results.set(result.event_id, result);
    waiters.get(result.event_id)?.(result);
  });
  const resultOf = (id: string, timeoutMs: number) =>
    results.has(id)
      ? Promise.resolve(results.get(id) as SliverResult)
      : new Promise<SliverResult>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no result for event ${id} within ${timeoutMs} ms`)), timeoutMs);
          waiters.set(id, (r) => {
            clearTimeout(timer);
            resolve(r);
          });
        });
  return {
    ...amh,
    roundTrip: async (...events) => {
      await amh.send(...events);
      return Promise.all(events.map((e) => resultOf(String(e.event_id), 90_000)));
    },
    substrate: new SimSubstrate(stateDir),
  };
}

/** Read access to the sim substrate's network state (layout: playbooks/sim/README.md). */
export class SimSubstrate {
  constructor(readonly dir: string) {}

  private read(rel: string): Json | undefined {
    const file = join(this.dir, rel);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Json) : undefined;
  }

  service(name: string): Json | undefined {
    return this.read(`netservices/${name}.json`);
  }

  p4(instanceName: string): Json | undefined {
    return this.read(`p4switches/${instanceName}.json`);
  }

  vm(instanceName: string): Json | undefined {
    return this.read(`vms/${instanceName}.json`);
  }

  /** Management addresses held by `owner` (e.g. `switch/<instance>`), from the shared IPAM table. */
  addressesOf(owner: string): string[] {
    const ipam = (this.read('ipam.json') ?? {}) as Record<string, Record<string, string>>;
    return Object.values(ipam).flatMap((pool) => Object.entries(pool).filter(([, o]) => o === owner).map(([a]) => a));
  }

  /** `{vlan: owner}` on one port. */
  vlansOn(device: string, port: string): Record<string, string> {
    const used = (this.read('vlans.json') ?? {})[`${device}|${port}`] as Record<string, { owner: string }> | undefined;
    return Object.fromEntries(Object.entries(used ?? {}).map(([tag, h]) => [tag, h.owner]));
  }

  /** Every VLAN held by the service, as `device port vlan` strings. */
  vlansOf(serviceName: string): string[] {
    const table = (this.read('vlans.json') ?? {}) as Record<string, Record<string, { owner: string }>>;
    return Object.entries(table).flatMap(([key, used]) =>
      Object.entries(used)
        .filter(([, h]) => h.owner === `net/${serviceName}`)
        .map(([tag]) => `${key.replace('|', ' ')} ${tag}`),
    );
  }

  /** Tampers with the VLAN table like an operator editing a switch by hand (for DEGRADED probes). */
  dropVlan(device: string, port: string, vlan: number): void {
    const file = join(this.dir, 'vlans.json');
    const table = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
    delete table[`${device}|${port}`]?.[String(vlan)];
    writeFileSync(file, JSON.stringify(table));
  }
}

// ---- events as the AM sends them --------------------------------------------------

export interface EndpointInput {
  name: string;
  device: string;
  port: string;
  site?: string;
  vlan?: number | null;
  mac?: string | null;
  bandwidth?: number | null;
  peering?: Json | null;
}

/** A network-service event; `sliver` fields override the defaults (type = resource type). */
export function netEvent(type: string, sliver: Json & { interfaces?: EndpointInput[] }, overrides: Json = {}): Json {
  const sliverId = (overrides.sliver_id as string | undefined) ?? `net-${randomUUID().slice(0, 8)}`;
  return {
    event_id: randomUUID(),
    operation: 'REDEEM',
    sliver_id: sliverId,
    slice_id: 'slice-net',
    resource_type: type,
    sequence: 1,
    timestamp: Date.now(),
    network_sliver: { name: `${type.toLowerCase()}1`, type, ...sliver },
    ...overrides,
  };
}

/** The same sliver, next operation: CLOSE/PROBE, or MODIFY with `next` as the requested service. */
export function followUp(event: Json, operation: 'CLOSE' | 'PROBE' | 'MODIFY', sequence: number, next?: Json): Json {
  const current = event.network_sliver as Json;
  return {
    ...event,
    event_id: randomUUID(),
    operation,
    sequence,
    timestamp: Date.now(),
    ...(operation === 'MODIFY' ? { previous_network_sliver: current, network_sliver: { ...current, ...next } } : {}),
  };
}

/** `HundredGigE0/0/0/<n>` on a sim switch. */
export const port = (n: number): string => `HundredGigE0/0/0/${n}`;

/** A P4 switch redeem on a sim P4 switch. */
export function switchEvent(node: Json = {}, overrides: Json = {}): Json {
  const sliverId = (overrides.sliver_id as string | undefined) ?? `p4-${randomUUID().slice(0, 8)}`;
  return {
    event_id: randomUUID(),
    operation: 'REDEEM',
    sliver_id: sliverId,
    slice_id: 'slice-p4',
    resource_type: 'Switch',
    sequence: 1,
    timestamp: Date.now(),
    node_sliver: {
      name: 'p4',
      site: 'SIM1',
      worker: 'sim-p4-1',
      interfaces: [
        { name: 'p1', port: '1/0', vlan: 100 },
        { name: 'p2', port: '2/0' },
      ],
      ...node,
    },
    slice: { user_ssh_keys: [{ key: 'ssh-ed25519 AAAAC3Nza p4-test', comment: 'test' }] },
    ...overrides,
  };
}

/** The same switch sliver, next operation. */
export function switchFollowUp(event: Json, operation: 'CLOSE' | 'PROBE' | 'MODIFY', sequence: number): Json {
  return { ...event, event_id: randomUUID(), operation, sequence, timestamp: Date.now() };
}
