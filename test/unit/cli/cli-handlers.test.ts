import { describe, expect, it } from 'vitest';
import { formatListing, listHandlers, missingPlaybooks } from '../../../src/cli/handlers.js';
import { REPO, testConfig } from '../../helpers/config.js';

describe('amh handlers (listing)', () => {
  const config = testConfig({
    handlers: {
      network: { plugin: 'network', playbooks: { location: `${REPO}/playbooks/sim`, L3VPN: 'net_l3vpn_missing.yml' } },
      switch: { plugin: 'switch', playbooks: { location: `${REPO}/playbooks/sim` } },
    },
  });
  const listing = listHandlers(config);
  const row = (type: string) => listing.find((r) => r.resourceType === type);

  it('lists every routed resource type with its handler entry, plugin and supported operations', () => {
    expect(listing.map((r) => r.resourceType)).toEqual(
      ['FABNetv4', 'FABNetv4Ext', 'FABNetv6', 'FABNetv6Ext', 'L2Bridge', 'L2PTP', 'L2STS', 'L3VPN', 'PortMirror', 'Switch', 'VM'],
    );
    expect(row('L2PTP')).toMatchObject({ handler: 'network', plugin: 'network', operations: ['REDEEM', 'CLOSE', 'MODIFY', 'PROBE'] });
    expect(row('Switch')).toMatchObject({ handler: 'switch', operations: ['REDEEM', 'CLOSE', 'PROBE'] });
  });

  it("shows a type's own playbooks (not the other types' of the same handler), flagging missing files", () => {
    expect(row('L2PTP')?.playbooks.map((p) => p.key)).toEqual(['L2PTP', 'operation.delete', 'operation.probe', 'operation.list', 'cleanup.ALL', 'cleanup.mark_failed']);
    expect(row('L2PTP')?.playbooks[0]).toEqual({ key: 'L2PTP', path: `${REPO}/playbooks/sim/net_create.yml`, exists: true });
    expect(row('L3VPN')?.playbooks[0]).toEqual({ key: 'L3VPN', path: `${REPO}/playbooks/sim/net_l3vpn_missing.yml`, exists: false });
    expect(missingPlaybooks(listing)).toEqual([`${REPO}/playbooks/sim/net_l3vpn_missing.yml`]);
  });

  it('prints one block per type, MISSING beside absent playbooks, and a summary', () => {
    const text = formatListing(listing);
    expect(text).toContain('L3VPN  (handler network, plugin network)\n  operations: REDEEM, CLOSE, MODIFY, PROBE\n');
    expect(text).toMatch(/ {2}L3VPN +\S+net_l3vpn_missing\.yml {2}MISSING\n/);
    expect(text.trimEnd().split('\n').pop()).toBe(`missing on disk: ${REPO}/playbooks/sim/net_l3vpn_missing.yml`);
  });
});
