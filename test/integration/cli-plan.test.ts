import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { EventPlan } from '../../src/plan/types.js';
import { testRunner } from '../helpers/ansible.js';
import { REPO } from '../helpers/config.js';
import { DEVICES, WORKER, gpu, nvme, smartNic, storage, vmWith } from '../helpers/sim.js';

const run = promisify(execFile);
const CLI = join(REPO, 'dist/cli/main.js');
const SIM = join(REPO, 'playbooks/sim');
const USER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlanTestKeyThatMustNotBePrinted0123456 planner@example';

/** Every file under dir (names and bytes), hashed: the substrate's state as a whole. */
function hashTree(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      hash.update(`${path.slice(dir.length)}\0`);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

/** `amh plan` as an operator runs it (the built CLI): no broker, the sim substrate, real ansible-playbook for the check. */
describe('amh plan (built CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amh-cli-plan-'));
  const stateDir = join(dir, 'sim');
  const config = join(dir, 'amh.yaml');
  const handler = { playbooks: { location: SIM }, substrate: { state_dir: stateDir } };
  writeFileSync(
    config,
    stringify({
      kafka: { brokers: ['127.0.0.1:1'] }, // never contacted
      runtime: { work_dir: join(dir, 'runs') },
      handlers: { vm: { plugin: 'vm', ...handler }, network: { plugin: 'network', ...handler } },
    }),
  );
  const file = (name: string, events: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, stringify(events));
    return path;
  };
  // The config's state dir, whatever the environment says.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'AMH_SIM_STATE_DIR'));
  const amh = (args: string[]) =>
    run(process.execPath, [CLI, 'plan', '--config', config, ...args], { timeout: 120_000, env }).then(
      (r) => ({ ...r, code: 0 }),
      (err: { stdout: string; stderr: string; code: number }) => err,
    );
  const vmRedeem = (sliver: string, gpuBdf: string) => {
    const event = vmWith(sliver, [
      gpu('GPU1', gpuBdf),
      smartNic('NIC1', { vlan: 1234, ipv4: '10.100.0.1/24', auto_config: true, device: 'sim-sw-1', port: 'HundredGigE0/0/0/5' }),
      nvme('NVME1', DEVICES.nvme[2]),
      storage('data1', { volume: 'vol-plan' }),
    ]);
    return { ...event, slice: { project_id: 'p1', user_ssh_keys: [{ key: USER_KEY, comment: 'planner' }] } };
  };

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    // Something in the substrate already: a VM of another sliver holding the second GPU.
    const { runner } = await testRunner();
    const vars = { sliver_id: 'other', name: 'node1', worker: WORKER, state_dir: stateDir };
    const boot = await runner({ playbook: join(SIM, 'vm_create.yml'), extraVars: { ...vars, flavor: { core: 2, ram: 8, disk: 10 } } });
    const attach = await runner({ playbook: join(SIM, 'vm_pci.yml'), extraVars: { ...vars, component_op: 'attach', component: gpu('GPU1', DEVICES.gpu[1]) } });
    expect([boot.outcome, attach.outcome]).toEqual(['ok', 'ok']);
  }, 120_000);

  it('prints the steps of a VM create with GPU, SmartNIC, NVME and Storage in order, with their vars, keys redacted, and touches nothing', async () => {
    const before = hashTree(stateDir);
    const { stdout, code } = await amh([file('vm.yaml', vmRedeem('plan-vm', DEVICES.gpu[0]))]);
    expect(code, stdout).toBe(0);
    const stepLines = stdout.split('\n').filter((l) => /^ {4}\d+\. /.test(l)).map((l) => l.trim());
    expect(stepLines).toEqual([
      '1. boot_vm: vm_create.yml [VM]',
      '2. attach_component GPU1: vm_pci.yml [GPU, SmartNIC, SharedNIC, FPGA, NVME]',
      '3. attach_component NIC1: vm_pci.yml [GPU, SmartNIC, SharedNIC, FPGA, NVME]',
      '4. attach_component NVME1: vm_pci.yml [GPU, SmartNIC, SharedNIC, FPGA, NVME]',
      '5. attach_component data1: vm_volume.yml [Storage]',
      '6. reboot_vm: vm_reboot.yml [operation.reboot]',
      '7. post_boot_config: vm_post_boot.yml [config.post_boot]',
      '8. configure_nic NIC1: vm_nic_config.yml [config.SmartNIC, config.SharedNIC]',
      '9. mount_storage data1: vm_storage_config.yml [config.Storage]',
    ]);
    expect(stdout).toContain('REDEEM VM plan-vm (sequence 1) -> handler vm: PLANNED');
    expect(stdout).toContain('ssh_keys: "[redacted]"');
    expect(stdout).not.toContain('PlanTestKeyThatMustNotBePrinted');
    expect(stdout).toContain(`"bdfs":["${DEVICES.gpu[0]}"]`);
    expect(stdout).toContain('volume_name: "vol-plan"');
    expect(stdout).toContain(`state_dir: "${stateDir}"`);
    expect(stdout).toMatch(/free {2}GPU GPU1 0000:25:00\.0 on sim-worker-1: 0000:25:00\.0 free on sim-worker-1/);
    expect(stdout).toContain('assumptions:');
    expect(stdout).toContain('on failure: rolled back');
    expect(hashTree(stateDir)).toBe(before);
  });

  it('--json parses, and a device held by another VM makes the plan WOULD_FAIL (exit 2) naming the holder', async () => {
    const before = hashTree(stateDir);
    const { stdout, code } = await amh(['--json', file('vm-taken.yaml', vmRedeem('plan-taken', DEVICES.gpu[1]))]);
    expect(code).toBe(2);
    const [plan] = JSON.parse(stdout) as EventPlan[];
    expect(plan?.outcome).toBe('WOULD_FAIL');
    expect(plan?.steps.map((s) => s.label)).toEqual([
      'boot_vm', 'attach_component GPU1', 'attach_component NIC1', 'attach_component NVME1', 'attach_component data1',
      'reboot_vm', 'post_boot_config', 'configure_nic NIC1', 'mount_storage data1',
    ]);
    expect(plan?.steps[0]?.vars).toMatchObject({ ssh_keys: '[redacted]', flavor: { core: 2, ram: 8, disk: 10 } });
    const gpuClaim = plan?.claims.find((c) => c.claim.kind === 'pci' && c.claim.component === 'GPU1');
    expect(gpuClaim).toMatchObject({ available: false });
    expect(gpuClaim?.detail).toContain('attached to VM other-node1 (sliver other, component GPU1)');
    expect(plan?.claims.filter((c) => c.available === true).map((c) => c.claim.kind)).toEqual(['capacity', 'pci', 'pci']);
    expect(plan?.reason).toContain('not available');
    expect(hashTree(stateDir)).toBe(before);
  });

  it('prints the step of an L2PTP with its service vars and the VLAN it would be assigned; an invalid one is REJECTED', async () => {
    const before = hashTree(stateDir);
    const l2ptp = parse(readFileSync(join(REPO, 'examples/l2ptp-redeem.yaml'), 'utf8')) as Record<string, unknown>;
    const { stdout, code } = await amh(['--json', file('l2ptp.yaml', l2ptp)]);
    expect(code, stdout).toBe(0);
    const [plan] = JSON.parse(stdout) as EventPlan[];
    expect(plan).toMatchObject({ outcome: 'PLANNED', handler: 'network' });
    expect(plan?.steps.map((s) => `${s.label} ${s.playbook}`)).toEqual(['create L2PTP vm1-vm2-8b1e0c4a-demo-l2ptp-0001 net_create.yml']);
    expect(plan?.steps[0]?.vars.service).toMatchObject({ type: 'L2PTP', interfaces: [{ name: 'ep-a', vlan: null }, { name: 'ep-b', vlan: 1501 }] });
    expect(plan?.claims.map((c) => [c.available, c.detail])).toEqual([
      [true, 'VLAN 100 would be assigned on sim-sw-1 HundredGigE0/0/0/5'],
      [true, 'VLAN 1501 free on sim-sw-2 HundredGigE0/0/0/6'],
    ]);

    const oneEnd = { ...l2ptp, network_sliver: { ...(l2ptp.network_sliver as object), interfaces: [(l2ptp.network_sliver as { interfaces: unknown[] }).interfaces[0]] } };
    const rejected = await amh([file('l2ptp-bad.yaml', oneEnd)]);
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toContain(': REJECTED');
    expect(rejected.stdout).toMatch(/reason: .*exactly 2 interfaces/);
    expect(rejected.stdout).not.toContain('steps:');
    expect(hashTree(stateDir)).toBe(before);
  });
});
