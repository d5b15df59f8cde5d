import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type SliverEvent } from '../../../src/codec/index.js';
import { BUILTIN_PLUGINS, HandlerRegistry } from '../../../src/handlers/index.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { planEvent } from '../../../src/plan/plan.js';
import { REPO, testConfig } from '../../helpers/config.js';
import { fakeRunner } from '../../helpers/fake-runner.js';
import { DEVICES, gpu, nvme, vmWith } from '../../helpers/sim.js';
import { followUp, netEvent, port } from '../../helpers/sim-network.js';

// amh plan's core with a fake runner standing in for the availability check: the steps come from the handlers' own code.
const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const event = (e: Record<string, unknown>): SliverEvent => codec.complete<'event'>(catalog.current('event'), e);
const sim = join(REPO, 'playbooks/sim');

function setup(location = sim) {
  const config = testConfig({ handlers: { vm: { playbooks: { location } }, network: { plugin: 'network', playbooks: { location } } } });
  const registry = HandlerRegistry.fromConfig(config, BUILTIN_PLUGINS);
  const runner = fakeRunner((req) => ({ data: { checks: (req.extraVars.claims as unknown[]).map(() => ({ available: true, detail: 'free' })) } }));
  return { runner, plan: (e: Record<string, unknown>) => planEvent(event(e), { registry, runner, logger: silentLogger() }) };
}

describe('amh plan (planEvent)', () => {
  it('a CLOSE follows the probe it assumes: detach each component, wipe the NVME, delete; nothing is claimed', async () => {
    const { plan, runner } = setup();
    const result = await plan(vmWith('p1', [gpu(), nvme()], { operation: 'CLOSE', sequence: 2 }));
    expect(result.outcome).toBe('PLANNED');
    expect(result.steps.map((s) => s.label)).toEqual(['probe_vm', 'detach_component GPU1', 'detach_component NVME1', 'wipe_nvme NVME1', 'delete_vm']);
    expect(result.assumptions.join(' ')).toContain('assuming the probe finds the VM as the event describes it');
    expect(result.claims).toEqual([]);
    expect(runner.calls).toHaveLength(0);
  });

  it('a REDEEM records every step with redacted vars and asks the check about each claim once', async () => {
    const { plan, runner } = setup();
    const e = vmWith('p2', [gpu('GPU1', DEVICES.gpu[0])]);
    const result = await plan({ ...e, slice: { user_ssh_keys: [{ key: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQSecretish user@h', comment: 'user@h' }] } });
    expect(result.steps.map((s) => `${s.label} ${s.playbook}`)).toEqual(['boot_vm vm_create.yml', 'attach_component GPU1 vm_pci.yml', 'reboot_vm vm_reboot.yml']);
    expect(result.steps[0]?.vars.ssh_keys).toBe('[redacted]');
    expect(JSON.stringify(result)).not.toContain('Secretish');
    expect(runner.calls).toHaveLength(1);
    expect(runner.calls[0]?.playbook).toBe(join(sim, 'plan_check.yml'));
    expect((runner.calls[0]?.extraVars.claims as { kind: string }[]).map((c) => c.kind)).toEqual(['capacity', 'pci']);
    expect(result.onFailure).toContain('rolled back');
  });

  it('a network MODIFY runs the delete, then the create, from the same handler code', async () => {
    const { plan } = setup();
    const redeem = netEvent('L2PTP', { interfaces: [{ name: 'a', site: 'SIM1', device: 'sim-sw-1', port: port(3), vlan: 300 }, { name: 'b', site: 'SIM2', device: 'sim-sw-2', port: port(3), vlan: 301 }] });
    const modify = followUp(redeem, 'MODIFY', 2, { interfaces: [{ name: 'a', site: 'SIM1', device: 'sim-sw-1', port: port(3), vlan: 302 }, { name: 'b', site: 'SIM2', device: 'sim-sw-2', port: port(3), vlan: 301 }] });
    const result = await plan(modify);
    expect(result.steps.map((s) => s.playbook)).toEqual(['net_delete.yml', 'net_create.yml']);
    expect(result.claims.map((c) => c.claim.kind === 'vlan' && c.claim.vlan)).toEqual([302, 301]);
  });

  it('an invalid event is REJECTED before any step; without a check playbook the claims are not checked', async () => {
    const { plan } = setup();
    const rejected = await plan(netEvent('L2PTP', { interfaces: [{ name: 'a', site: 'SIM1', device: 'sim-sw-1', port: port(3), vlan: 300 }] }));
    expect(rejected).toMatchObject({ outcome: 'REJECTED', steps: [], claims: [] });
    expect(rejected.reason).toContain('exactly 2 interfaces');

    const empty = mkdtempSync(join(tmpdir(), 'amh-plan-'));
    writeFileSync(join(empty, 'vm_create.yml'), '[]\n');
    const unchecked = await setup(empty).plan(vmWith('p3', [gpu()]));
    expect(unchecked.outcome).toBe('PLANNED');
    expect(unchecked.availability).toContain('plan_check.yml does not exist');
    expect(unchecked.claims.every((c) => c.available === null)).toBe(true);
  });
});
