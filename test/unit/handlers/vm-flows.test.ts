import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PlaybookRunRequest, PlaybookRunResult } from '../../../src/ansible/types.js';
import { AvroCodec, SchemaCatalog, type SliverEvent } from '../../../src/codec/index.js';
import { Executor } from '../../../src/dispatch/executor.js';
import { BUILTIN_PLUGINS, HandlerRegistry } from '../../../src/handlers/index.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { testConfig } from '../../helpers/config.js';
import { fakeRunner, untilAborted } from '../../helpers/fake-runner.js';
import { fpga, gpu, nvme, poaEvent, smartNic, storage, vmWith } from '../../helpers/sim.js';

// The VM plugin's step sequences, with a fake runner standing in for ansible-playbook.
const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const logger = silentLogger();
const event = (e: Record<string, unknown>): SliverEvent => codec.complete<'event'>(catalog.current('event'), e);

type Reply = Partial<PlaybookRunResult>;
type Component = { name: string; type: string; bdfs?: string[] };

/** What the sim playbooks would report, per playbook; `attached` is what a probe sees. */
function substrate(attached: Component[] = [], overrides: (req: PlaybookRunRequest) => Reply | Promise<Reply> | undefined = () => undefined) {
  return fakeRunner((req) => {
    const special = overrides(req);
    if (special) return special;
    const v = req.extraVars;
    const c = v.component as Component | undefined;
    switch (basename(req.playbook)) {
      case 'vm_create.yml':
      case 'vm_reboot.yml':
        return { data: { vm: { instance_name: v.instance_name, worker: 'sim-worker-1', management_ip: '10.20.0.2', domain: 'instance-0001', state: 'ACTIVE', reboots: 1 } } };
      case 'vm_pci.yml':
      case 'vm_volume.yml':
      case 'vm_nic_config.yml':
      case 'vm_storage_config.yml':
        return { data: { component: { ...c, guest_bdfs: (c?.bdfs ?? []).map((_, i) => `0000:0${7 + i}:00.0`) } } };
      case 'vm_probe.yml':
        return { data: { probe: { exists: true, instance_name: v.instance_name, worker: 'sim-worker-1', state: 'ACTIVE', components: attached.map((a) => ({ ...a, attached_bdfs: a.bdfs ?? [] })) } } };
      case 'vm_delete.yml':
        return { data: { vm: { existed: true } } };
      case 'vm_poa.yml':
        return { data: { poa: { info: { asked: v.poa_operation }, message: `${String(v.poa_operation)} done` } } };
      case 'vm_ssh_keys.yml':
        return { data: { poa: { info: { ssh_key_count: 2 }, message: 'keys updated' } } };
      default:
        return {};
    }
  });
}

const failAt = (book: string, op: string | undefined, task: string, msg: string) => (req: PlaybookRunRequest): Reply | undefined =>
  basename(req.playbook) === book && (op === undefined || req.extraVars.component_op === op || (req.extraVars.component as Component | undefined)?.name === op)
    ? { outcome: 'failed', exitCode: 2, failedTask: { host: 'localhost', task, status: 'failed', msg, result: {}, ignoreErrors: false } }
    : undefined;

function run(runner: ReturnType<typeof fakeRunner>, e: Record<string, unknown>, extra: Record<string, Record<string, unknown>> = {}) {
  const registry = HandlerRegistry.fromConfig(testConfig(extra), BUILTIN_PLUGINS);
  return new Executor({ registry, runner, killGraceMs: 50 }).execute(event(e), { logger });
}

/** "vm_pci.yml attach GPU1" per call. */
const steps = (runner: ReturnType<typeof fakeRunner>) =>
  runner.calls.map((c) => [basename(c.playbook), c.extraVars.component_op, (c.extraVars.component as Component | undefined)?.name].filter(Boolean).join(' '));

describe('VM create', () => {
  it('follows the reference order: boot, attach each component, reboot, post-boot, NIC config, mount', async () => {
    const runner = substrate();
    const nic = smartNic('NIC1', { vlan: 1234, ipv4: '10.1.0.2/24', auto_config: true });
    const result = await run(runner, vmWith('s1', [gpu(), nic, nvme(), storage('data1', { volume: 'vol-a' })]));
    expect(result.outcome, result.message).toBe('OK');
    expect(steps(runner)).toEqual([
      'vm_create.yml',
      'vm_pci.yml attach GPU1',
      'vm_pci.yml attach NIC1',
      'vm_pci.yml attach NVME1',
      'vm_volume.yml attach data1',
      'vm_reboot.yml',
      'vm_post_boot.yml',
      'vm_nic_config.yml NIC1',
      'vm_storage_config.yml data1',
    ]);
    expect(runner.calls[4]?.extraVars).toMatchObject({ volume_name: 'vol-a', mount_point: '/vol-a' });
    expect(runner.calls[1]?.extraVars).toMatchObject({ worker: 'sim-worker-1', management_ip: '10.20.0.2', instance_name: 's1-node1' });
    expect(result.sliver).toMatchObject({ instance_name: 's1-node1', management_ip: '10.20.0.2', worker: 'sim-worker-1', labels: { instance: 'instance-0001' } });
    expect(result.sliver?.components.map((c) => c.name)).toEqual(['GPU1', 'NIC1', 'NVME1', 'data1']);
    expect(result.sliver?.components[0]?.guest_bdfs).toEqual(['0000:07:00.0']);
  });

  it('boots with IPv6 management when FIPs are disabled, and with the user keys', async () => {
    const runner = substrate();
    await run(runner, vmWith('s1', []), { handlers: { vm: { runtime: { disable_fip: true } } } });
    expect(runner.calls[0]?.extraVars).toMatchObject({ mgmt_ipv6: true, ssh_keys: ['ssh-ed25519 AAAAC3Nza test'], image_user: 'root' });
    expect(runner.calls).toHaveLength(1); // no components: no reboot, no configuration
  });

  it('on a failed attach removes everything and reports FAILED naming the component step', async () => {
    const runner = substrate([{ name: 'GPU1', type: 'GPU', bdfs: ['0000:25:00.0'] }], failAt('vm_pci.yml', 'NIC1', 'attach_pci', 'PCI device 0000:41:00.0 is already attached to VM other'));
    const result = await run(runner, vmWith('s1', [gpu(), smartNic('NIC1')]));
    expect(result).toMatchObject({ outcome: 'FAILED', error_code: 'PLAYBOOK_FAILED', failed_step: 'attach_component NIC1 (vm_pci.yml: attach_pci)' });
    expect(result.message).toContain('already attached to VM other');
    expect(result.message).toContain('rolled back: detached GPU1; deleted VM');
    expect(steps(runner)).toEqual([
      'vm_create.yml', 'vm_pci.yml attach GPU1', 'vm_pci.yml attach NIC1', // the create
      'vm_probe.yml', 'vm_pci.yml detach GPU1', 'vm_delete.yml', //         the rollback (cleanup.ALL)
    ]);
  });

  it('with keep_failed, leaves the VM and marks it failed instead of rolling back; the reply carries the sliver', async () => {
    const marked = { instance_name: 's1-node1', existed: true, failed: true, worker: 'sim-worker-1', management_ip: '10.20.0.2', components: [{ name: 'GPU1', type: 'GPU', bdfs: ['0000:25:00.0'] }] };
    const runner = substrate([], (req) =>
      basename(req.playbook) === 'vm_mark_failed.yml' ? { data: { vm: marked } } : failAt('vm_pci.yml', 'NIC1', 'attach_pci', 'injected')(req),
    );
    const result = await run(runner, vmWith('s1', [gpu(), smartNic('NIC1')]), { handlers: { vm: { keep_failed: true } } });
    expect(result).toMatchObject({ outcome: 'FAILED', failed_step: 'attach_component NIC1 (vm_pci.yml: attach_pci)' });
    expect(result.message).toContain('kept for diagnosis (keep_failed): VM s1-node1 left in place on sim-worker-1, marked failed');
    expect(steps(runner)).toEqual(['vm_create.yml', 'vm_pci.yml attach GPU1', 'vm_pci.yml attach NIC1', 'vm_mark_failed.yml']);
    expect(runner.calls[3]?.extraVars).toMatchObject({ failed_step: 'attach_component NIC1 (vm_pci.yml: attach_pci)' });
    expect(result.sliver).toMatchObject({ instance_name: 's1-node1', observed: 'DEGRADED', worker: 'sim-worker-1', labels: { kept_for_diagnosis: 'true' } });
    expect(result.sliver?.components.map((c) => c.name)).toEqual(['GPU1']);
  });

  it('still rolls back after the operation timed out (cleanup has its own limit)', async () => {
    const runner = substrate([], (req) => (basename(req.playbook) === 'vm_pci.yml' && req.extraVars.component_op === 'attach' ? untilAborted(req.signal, 'timed_out') : undefined));
    const result = await run(runner, vmWith('s1', [gpu()]), { handlers: { vm: { timeouts: { REDEEM: '100ms' } } } });
    expect(result.outcome).toBe('TIMED_OUT');
    expect(result.failed_step).toBe('attach_component GPU1 (vm_pci.yml)');
    expect(steps(runner).slice(-2)).toEqual(['vm_probe.yml', 'vm_delete.yml']);
    expect(runner.calls.at(-1)?.signal?.aborted).toBe(false);
  });
});

describe('VM delete', () => {
  it('detaches what the probe sees (NVME then wiped), deletes, and reports OK', async () => {
    const runner = substrate([{ name: 'GPU1', type: 'GPU', bdfs: ['0000:25:00.0'] }, { name: 'NVME1', type: 'NVME', bdfs: ['0000:21:00.0'] }]);
    const result = await run(runner, vmWith('s1', [], { operation: 'CLOSE' }));
    expect(result.outcome, result.message).toBe('OK');
    expect(steps(runner)).toEqual(['vm_probe.yml', 'vm_pci.yml detach GPU1', 'vm_pci.yml detach NVME1', 'vm_nvme_cleanup.yml NVME1', 'vm_delete.yml']);
    expect(result.sliver).toMatchObject({ observed: 'MISSING' });
    expect(result.message).toContain('wiped NVME1 (0000:21:00.0)');
  });

  it('is OK when the VM is already gone', async () => {
    const runner = substrate([], (req) => (basename(req.playbook) === 'vm_probe.yml' ? { data: { probe: { exists: false } } } : basename(req.playbook) === 'vm_delete.yml' ? { data: { vm: { existed: false } } } : undefined));
    const result = await run(runner, vmWith('s1', [gpu()], { operation: 'CLOSE' }));
    expect(result).toMatchObject({ outcome: 'OK', message: 'VM s1-node1 was already gone' });
    expect(steps(runner)).toEqual(['vm_probe.yml', 'vm_delete.yml']);
  });

  it('is FAILED when a step failed after its retries, and still tries the other steps', async () => {
    const runner = substrate([{ name: 'GPU1', type: 'GPU', bdfs: ['0000:25:00.0'] }], failAt('vm_pci.yml', 'detach', 'detach_pci', 'device busy'));
    const result = await run(runner, vmWith('s1', [], { operation: 'CLOSE' }));
    expect(result).toMatchObject({ outcome: 'FAILED', failed_step: 'detach_component GPU1 (vm_pci.yml: detach_pci)' });
    expect(result.message).toContain('delete incomplete (1 step(s) failed)');
    expect(steps(runner).at(-1)).toBe('vm_delete.yml');
  });
});

describe('VM teardown never hands on tenant data', () => {
  // A device detached from its VM whose wipe has not run yet (a crash between
  // the two steps): the substrate keeps it held and the probe lists it.
  const pending = [{ worker: 'sim-worker-2', bdf: '0000:21:00.0', component: 'NVME1', type: 'NVME', instance_name: 's1-node1' }];
  const probeWith = (probe: Record<string, unknown>) => (req: PlaybookRunRequest): Reply | undefined =>
    basename(req.playbook) === 'vm_probe.yml'
      ? { data: { probe: { exists: true, instance_name: 's1-node1', worker: 'sim-worker-1', state: 'ACTIVE', components: [], ...probe } } }
      : undefined;

  it('a CLOSE re-run wipes a device pending wipe (on the worker that holds it) before deleting and answering OK', async () => {
    const runner = substrate([], probeWith({ wipe_pending: pending }));
    const result = await run(runner, vmWith('s1', [nvme()], { operation: 'CLOSE' }));
    expect(result.outcome, result.message).toBe('OK');
    expect(steps(runner)).toEqual(['vm_probe.yml', 'vm_nvme_cleanup.yml NVME1', 'vm_delete.yml']);
    expect(runner.calls[1]?.extraVars).toMatchObject({ worker: 'sim-worker-2', component: { name: 'NVME1', type: 'NVME', bdfs: ['0000:21:00.0'] } });
    expect(result.message).toContain('wiped NVME1 (0000:21:00.0)');
  });

  it('wipes pending devices of a VM that is already gone', async () => {
    const runner = substrate([], (req) =>
      probeWith({ exists: false, wipe_pending: pending })(req) ?? (basename(req.playbook) === 'vm_delete.yml' ? { data: { vm: { existed: false } } } : undefined),
    );
    const result = await run(runner, vmWith('s1', [], { operation: 'CLOSE' }));
    expect(result.outcome, result.message).toBe('OK');
    expect(steps(runner)).toEqual(['vm_probe.yml', 'vm_nvme_cleanup.yml NVME1', 'vm_delete.yml']);
  });

  it('a CLOSE whose pending wipe fails is FAILED, never OK', async () => {
    const runner = substrate([], (req) => probeWith({ wipe_pending: pending })(req) ?? failAt('vm_nvme_cleanup.yml', undefined, 'wipe_nvme', 'format failed')(req));
    const result = await run(runner, vmWith('s1', [], { operation: 'CLOSE' }));
    expect(result).toMatchObject({ outcome: 'FAILED', failed_step: 'wipe_nvme NVME1 (vm_nvme_cleanup.yml: wipe_nvme)' });
  });

  it('a create rollback wipes a device left pending wipe', async () => {
    const runner = substrate([], (req) => probeWith({ wipe_pending: pending })(req) ?? failAt('vm_pci.yml', 'GPU1', 'attach_pci', 'busy')(req));
    const result = await run(runner, vmWith('s1', [gpu()]));
    expect(result.outcome).toBe('FAILED');
    expect(steps(runner).slice(-3)).toEqual(['vm_probe.yml', 'vm_nvme_cleanup.yml NVME1', 'vm_delete.yml']);
  });

  it('a modify first finishes a wipe an interrupted detach left pending', async () => {
    const runner = substrate([], probeWith({ components: [{ name: 'GPU1', type: 'GPU', bdfs: ['0000:25:00.0'], attached_bdfs: ['0000:25:00.0'] }], wipe_pending: pending }));
    const result = await run(runner, vmWith('s1', [gpu()], { operation: 'MODIFY' }));
    expect(result.outcome, result.message).toBe('OK');
    expect(steps(runner)).toEqual(['vm_probe.yml', 'vm_nvme_cleanup.yml NVME1']);
    expect(result.message).toContain('wiped NVME1 (0000:21:00.0)');
  });
});

describe('VM modify', () => {
  it('detaches the removed, attaches the added, re-applies the changed (a port that now has a VLAN)', async () => {
    const runner = substrate([{ name: 'GPU1', type: 'GPU', bdfs: ['0000:25:00.0'] }]);
    const before = [gpu(), smartNic('NIC1')];
    const after = [smartNic('NIC1', { vlan: 1234, device: 'sw1', port: 'Hu0/0/0/5' }), fpga()];
    const e = vmWith('s1', after, { operation: 'MODIFY', extra: { previous_node_sliver: vmWith('s1', before).node_sliver } });
    const result = await run(runner, e);
    expect(result.outcome, result.message).toBe('OK');
    expect(steps(runner)).toEqual(['vm_probe.yml', 'vm_pci.yml detach GPU1', 'vm_pci.yml attach FPGA1', 'vm_nic_config.yml NIC1']);
    expect(result.message).toContain('detached GPU1; attached FPGA1; configured NIC1');
  });

  it('with no component diff re-applies NIC and storage configuration', async () => {
    const comps = [smartNic('NIC1', { ipv4: '10.0.0.2', auto_config: true }), storage('data1')];
    const runner = substrate([]);
    const e = vmWith('s1', comps, { operation: 'MODIFY', extra: { previous_node_sliver: vmWith('s1', comps).node_sliver } });
    const result = await run(runner, e);
    expect(result.outcome, result.message).toBe('OK');
    expect(steps(runner)).toEqual(['vm_probe.yml', 'vm_post_boot.yml', 'vm_nic_config.yml NIC1', 'vm_storage_config.yml data1']);
  });

  it('diffs against the substrate when the event has no previous sliver, and undoes its attach on failure', async () => {
    const runner = substrate([{ name: 'GPU1', type: 'GPU', bdfs: ['0000:25:00.0'] }], failAt('vm_volume.yml', 'attach', 'attach_volume', 'volume in use'));
    const result = await run(runner, vmWith('s1', [gpu(), nvme(), storage('data1')], { operation: 'MODIFY' }));
    expect(result).toMatchObject({ outcome: 'FAILED', failed_step: 'attach_component data1 (vm_volume.yml: attach_volume)' });
    expect(steps(runner)).toEqual(['vm_probe.yml', 'vm_pci.yml attach NVME1', 'vm_volume.yml attach data1', 'vm_pci.yml detach NVME1', 'vm_nvme_cleanup.yml NVME1']);
    expect(result.message).toContain('rolled back: detached NVME1; wiped NVME1');
  });

  it('fails clearly when the VM does not exist', async () => {
    const runner = substrate([], (req) => (basename(req.playbook) === 'vm_probe.yml' ? { data: { probe: { exists: false } } } : undefined));
    const result = await run(runner, vmWith('s1', [gpu()], { operation: 'MODIFY' }));
    expect(result).toMatchObject({ outcome: 'FAILED', error_code: 'SUBSTRATE', failed_step: 'probe_vm' });
    expect(result.message).toContain('VM s1-node1 does not exist; nothing to modify');
  });
});

describe('VM POA', () => {
  it('runs the operation playbook and answers in the reference shape', async () => {
    const runner = substrate();
    const result = await run(runner, poaEvent('s1', 'cpupin', { vcpu_cpu_map: [{ vcpu: 0, cpu: 3 }] }));
    expect(result.outcome, result.message).toBe('OK');
    expect(runner.calls[0]?.extraVars).toMatchObject({ poa_operation: 'cpupin', poa_args: { vcpu_cpu_map: [{ vcpu: 0, cpu: 3 }] } });
    expect(result.poa).toMatchObject({ operation: 'cpupin', code: 0, message: 'cpupin done' });
    expect(JSON.parse(result.poa?.info_json ?? 'null')).toEqual({ asked: 'cpupin' });
  });

  it('reboots with the reboot playbook and manages keys with the ssh_keys playbook', async () => {
    const runner = substrate();
    expect((await run(runner, poaEvent('s1', 'reboot'))).poa?.info_json).toContain('"reboots":1');
    await run(runner, poaEvent('s1', 'removekey', { keys: [{ key: 'ssh-rsa AAA', comment: null }] }));
    expect(steps(runner)).toEqual(['vm_reboot.yml', 'vm_ssh_keys.yml']);
    expect(runner.calls[1]?.extraVars).toMatchObject({ key_state: 'absent', keys: [{ key: 'ssh-rsa AAA', comment: null }] });
  });

  it('rejects an unknown operation without running anything', async () => {
    const runner = substrate();
    const result = await run(runner, poaEvent('s1', 'delete'));
    // Answered in the reference's POA shape, never treated as a delete.
    expect(result).toMatchObject({ outcome: 'REJECTED', poa: { operation: 'delete', code: -2, info_json: null } });
    expect(runner.calls).toHaveLength(0);
  });
});
