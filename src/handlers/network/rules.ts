import type { Interface, NetworkServiceSliver } from '../../codec/types.js';
import { ValidationError } from '../../errors/index.js';
import { contains, parseCidr, parseIp } from './cidr.js';
import type { ServiceType } from './service.js';
import type { NetworkSettings } from './settings.js';

/**
 * The reference's validation rules, one function per service type. Each
 * throws a ValidationError (answered REJECTED before any playbook runs)
 * whose message names the rule that was broken.
 */
type Rule = (sliver: NetworkServiceSliver, settings: NetworkSettings) => void;

function reject(type: string, rule: string): never {
  throw new ValidationError(`${type}: ${rule}`);
}

const distinct = (values: (string | null)[]): Set<string | null> => new Set(values);

/** Every type: endpoints with unique names, on a device and port, with a valid VLAN tag, none repeated. */
function endpoints(type: string, sliver: NetworkServiceSliver): void {
  const ifs = sliver.interfaces;
  if (ifs.length === 0) reject(type, 'needs at least one interface');
  if (distinct(ifs.map((i) => i.name)).size !== ifs.length) reject(type, 'interface names must be unique');
  for (const i of ifs) {
    if (!i.device || !i.port) reject(type, `interface ${i.name} needs a device and a port`);
    if (i.vlan !== null && (!Number.isInteger(i.vlan) || i.vlan < 0 || i.vlan > 4094)) {
      reject(type, `interface ${i.name}: VLAN ${i.vlan} is outside 0-4094 (0 = untagged, null = assign one)`);
    }
  }
  const tagged = ifs.filter((i) => i.vlan !== null).map((i) => `${i.device} ${i.port} VLAN ${i.vlan}`);
  const repeated = tagged.find((t, n) => tagged.indexOf(t) !== n);
  if (repeated) reject(type, `${repeated} is used twice in one service`);
}

const sites = (ifs: Interface[]): Set<string | null> => distinct(ifs.map((i) => i.site));

const l2Bridge: Rule = (s) => {
  if (distinct(s.interfaces.map((i) => i.device)).size !== 1) reject('L2Bridge', 'all interfaces must be on one device');
};

const l2ptp: Rule = (s) => {
  if (s.interfaces.length !== 2) reject('L2PTP', `needs exactly 2 interfaces, got ${s.interfaces.length}`);
  if (s.interfaces.some((i) => i.vlan === 0)) reject('L2PTP', 'both interfaces must be tagged (VLAN 0 = untagged is not allowed)');
  if (s.interfaces[0]?.device === s.interfaces[1]?.device) reject('L2PTP', 'the 2 interfaces must be on different devices');
  if (s.ero.some((hop) => hop.trim() === '')) reject('L2PTP', 'explicit route hops (ero) must not be empty');
  if (distinct(s.ero).size !== s.ero.length) reject('L2PTP', 'explicit route hops (ero) must not repeat');
};

const l2sts: Rule = (s) => {
  if (s.interfaces.some((i) => !i.site)) reject('L2STS', 'every interface needs a site');
  if (sites(s.interfaces).size !== 2) reject('L2STS', `needs exactly 2 sites, got ${sites(s.interfaces).size}`);
};

/** FABNetv4/v6 (and their Ext variants): gateway inside subnet, both of the type's IP version. */
const fabnet = (version: 4 | 6, ext: boolean): Rule => (s, settings) => {
  const type = `FABNetv${version}${ext ? 'Ext' : ''}`;
  if (!s.gateway || !s.subnet) reject(type, 'gateway and subnet are required');
  const subnet = parseCidr(s.subnet);
  if (subnet?.version !== version) reject(type, `subnet '${s.subnet}' is not an IPv${version} prefix`);
  const gateway = parseIp(s.gateway.split('/')[0] ?? '');
  if (!gateway || !contains(subnet, gateway)) reject(type, `gateway '${s.gateway}' is not an address in ${s.subnet}`);
  if (!ext) return;
  if (settings.network.border_routers.length === 0) {
    reject(type, 'needs border routers, and network.border_routers of this handler is empty');
  }
  if (s.permitted.length === 0) reject(type, 'needs a permit list (network_sliver.permitted)');
  const bad = s.permitted.find((p) => parseCidr(p)?.version !== version);
  if (bad !== undefined) reject(type, `permitted '${bad}' is not an IPv${version} prefix`);
};

const l3vpn: Rule = (s) => {
  if (sites(s.interfaces).size < 2 || s.interfaces.some((i) => !i.site)) {
    reject('L3VPN', `needs interfaces at 2 or more sites, got ${sites(s.interfaces).size}`);
  }
  for (const i of s.interfaces) {
    const p = i.peering;
    const bgp = p !== null && p.asn !== null;
    if (!p || (!bgp && !p.gateway)) reject('L3VPN', `interface ${i.name} needs a BGP peering (asn + subnet) or a direct gateway`);
    if (bgp) {
      if (p.asn === null || p.asn < 1 || p.asn > 4_294_967_295) reject('L3VPN', `interface ${i.name}: peer ASN ${p.asn} is outside 1-4294967295`);
      if (!p.ipv4_subnet && !p.ipv6_subnet) reject('L3VPN', `interface ${i.name}: a BGP peering needs ipv4_subnet or ipv6_subnet`);
      for (const [v, net] of [[4, p.ipv4_subnet], [6, p.ipv6_subnet]] as const) {
        if (net && parseCidr(net)?.version !== v) reject('L3VPN', `interface ${i.name}: '${net}' is not an IPv${v} prefix`);
      }
      if (p.bgp_key !== null && (p.bgp_key === '' || p.bgp_key.length > 80)) {
        reject('L3VPN', `interface ${i.name}: the BGP MD5 key must be 1-80 characters`);
      }
    } else if (p.gateway && !parseIp(p.gateway)) {
      reject('L3VPN', `interface ${i.name}: gateway '${p.gateway}' is not an IP address`);
    }
  }
};

const MIRROR_DIRECTIONS = ['rx', 'tx', 'both'];

const portMirror: Rule = (s) => {
  if (s.interfaces.length !== 1) reject('PortMirror', `needs exactly one destination interface, got ${s.interfaces.length}`);
  const source = s.mirror?.source ?? '';
  if (source.trim() === '') reject('PortMirror', 'needs mirror.source, the port to mirror');
  if (source === s.interfaces[0]?.port) reject('PortMirror', 'the mirrored port cannot be the destination port');
  const direction = mirrorDirection(s);
  if (!MIRROR_DIRECTIONS.includes(direction)) reject('PortMirror', `direction '${direction}' is not one of ${MIRROR_DIRECTIONS.join(', ')}`);
};

/** The mirror direction, `both` when the request leaves it empty (the reference's default). */
export function mirrorDirection(s: NetworkServiceSliver): string {
  const direction = s.mirror?.direction?.trim() ?? '';
  return direction === '' ? 'both' : direction;
}

const RULES: Record<ServiceType, Rule> = {
  L2Bridge: l2Bridge,
  L2PTP: l2ptp,
  L2STS: l2sts,
  FABNetv4: fabnet(4, false),
  FABNetv6: fabnet(6, false),
  FABNetv4Ext: fabnet(4, true),
  FABNetv6Ext: fabnet(6, true),
  L3VPN: l3vpn,
  PortMirror: portMirror,
};

/** Checks a requested service against the rules of its type. */
export function checkServiceRules(type: ServiceType, sliver: NetworkServiceSliver, settings: NetworkSettings): void {
  endpoints(type, sliver);
  RULES[type](sliver, settings);
}
