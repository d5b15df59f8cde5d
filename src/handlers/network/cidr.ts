import { isIP } from 'node:net';

/** A parsed `address/prefix`. */
export interface Cidr {
  version: 4 | 6;
  address: bigint;
  prefix: number;
}

/** IPv4 or IPv6 text -> its version and value; undefined when it is not an address. */
export function parseIp(text: string): { version: 4 | 6; value: bigint } | undefined {
  const version = isIP(text);
  if (version === 4) {
    return { version, value: text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n) };
  }
  if (version !== 6 || text.includes('.')) return undefined; // embedded IPv4 forms are not used for services
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return { version, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** `10.0.0.0/24`, `2001:db8::/64` -> Cidr; undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!ip || !/^\d{1,3}$/.test(prefixText) || prefix > (ip.version === 4 ? 32 : 128)) return undefined;
  return { version: ip.version, address: ip.value, prefix };
}

/** Whether `ip` lies inside `cidr` (same version, same leading `prefix` bits). */
export function contains(cidr: Cidr, ip: { version: 4 | 6; value: bigint }): boolean {
  if (cidr.version !== ip.version) return false;
  const shift = BigInt((cidr.version === 4 ? 32 : 128) - cidr.prefix);
  return cidr.address >> shift === ip.value >> shift;
}
