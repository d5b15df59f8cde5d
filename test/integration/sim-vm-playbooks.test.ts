import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlaybookRunResult } from '../../src/ansible/types.js';
import { playbooksDir } from '../../src/paths.js';
import { testRunner } from '../helpers/ansible.js';

const CREATE = playbooksDir('sim', 'vm_create.yml');
const DELETE = playbooksDir('sim', 'vm_delete.yml');

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'amh-sim-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

/** The extra vars the VM handler sends, with overrides. */
function vmVars(sliverId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sliver_id: sliverId,
    name: 'node1',
    worker: 'sim-worker-1',
    flavor: { core: 2, ram: 8, disk: 10 },
    image: 'default_rocky_9',
    ssh_keys: ['ssh-ed25519 AAAAC3Nza test'],
    mgmt_ipv6: false,
    state_dir: stateDir,
    ...overrides,
  };
}

const vmFile = (instance: string): string => join(stateDir, 'vms', `${instance}.json`);
const ipam = (): Record<string, Record<string, string>> => JSON.parse(readFileSync(join(stateDir, 'ipam.json'), 'utf8'));
const vmOf = (r: PlaybookRunResult): Record<string, unknown> => r.data.vm as Record<string, unknown>;

describe('sim VM playbooks (real ansible-playbook)', () => {
  it('creates a VM with a management IP and records it; a repeated create is a no-op', async () => {
    const { runner } = await testRunner();
    const created = await runner({ playbook: CREATE, extraVars: vmVars('s-create') });
    expect(created.outcome, created.stderrTail).toBe('ok');
    expect(vmOf(created)).toMatchObject({
      instance_name: 's-create-node1',
      sliver_id: 's-create',
      worker: 'sim-worker-1',
      state: 'ACTIVE',
      management_ip: '10.20.0.2',
      management_ip_version: 4,
      flavor: { core: 2, ram: 8, disk: 10 },
      ssh_key_count: 1,
    });
    expect(vmOf(created)).not.toHaveProperty('ssh_keys');
    const record = JSON.parse(readFileSync(vmFile('s-create-node1'), 'utf8'));
    expect(record).toMatchObject({ management_ip: '10.20.0.2', ssh_keys: ['ssh-ed25519 AAAAC3Nza test'] });
    expect(created.tasks.map((t) => t.task)).toEqual(['validate', 'boot', 'assign_management_ip', 'wait_ssh', 'report']);

    const again = await runner({ playbook: CREATE, extraVars: vmVars('s-create') });
    expect(again.outcome).toBe('ok');
    expect(vmOf(again).management_ip).toBe('10.20.0.2');
    expect(again.tasks.find((t) => t.task === 'boot')?.status).toBe('ok'); // not 'changed'
  });

  it('hands out IPv6 management addresses when asked', async () => {
    const { runner } = await testRunner();
    const r = await runner({ playbook: CREATE, extraVars: vmVars('s-v6', { mgmt_ipv6: true }) });
    expect(r.outcome, r.stderrTail).toBe('ok');
    expect(vmOf(r)).toMatchObject({ management_ip: 'fd00:20::2', management_ip_version: 6 });
  });

  it('deletes a VM (file and address gone); deleting again is ok', async () => {
    const { runner } = await testRunner();
    expect((await runner({ playbook: CREATE, extraVars: vmVars('s-del') })).outcome).toBe('ok');
    const deleted = await runner({ playbook: DELETE, extraVars: vmVars('s-del') });
    expect(deleted.outcome, deleted.stderrTail).toBe('ok');
    expect(vmOf(deleted)).toEqual({
      instance_name: 's-del-node1',
      existed: true,
      released_ips: ['10.20.0.2'],
      state: 'DELETED',
    });
    expect(existsSync(vmFile('s-del-node1'))).toBe(false);
    expect(ipam().mgmt4).toEqual({});

    const again = await runner({ playbook: DELETE, extraVars: vmVars('s-del') });
    expect(again.outcome, again.stderrTail).toBe('ok');
    expect(vmOf(again)).toMatchObject({ existed: false });
  });

  it('gives concurrent creates distinct management IPs', async () => {
    const { runner } = await testRunner();
    const ids = ['a', 'b', 'c', 'd', 'e'].map((x) => `s-par-${x}`);
    const results = await Promise.all(ids.map((id) => runner({ playbook: CREATE, extraVars: vmVars(id) })));
    for (const r of results) expect(r.outcome, r.stderrTail).toBe('ok');
    const ips = results.map((r) => vmOf(r).management_ip);
    expect(new Set(ips).size).toBe(5);
    expect(Object.keys(ipam().mgmt4 ?? {}).sort()).toEqual([...ips].sort());
  }, 180_000);

  it.each(['validate', 'boot', 'assign_management_ip', 'wait_ssh'])(
    'an injected failure at %s fails the run naming the step',
    async (step) => {
      const { runner } = await testRunner();
      const r = await runner({ playbook: CREATE, extraVars: vmVars(`s-fail-${step}`, { fail_at: step }) });
      expect(r.outcome).toBe('failed');
      expect(r.failedTask).toMatchObject({ task: step, msg: `injected failure at ${step}` });
      // Steps after boot leave a VM behind for the handler to roll back.
      const booted = step === 'assign_management_ip' || step === 'wait_ssh';
      expect(existsSync(vmFile(`s-fail-${step}-node1`))).toBe(booted);
    },
  );

  it('refuses unknown workers and full workers at validate', async () => {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, 'workers.json'), JSON.stringify({ workers: { tiny: { cores: 2, ram: 8, disk: 10 } } }));
    const { runner } = await testRunner();
    const unknown = await runner({ playbook: CREATE, extraVars: vmVars('s-unknown') });
    expect(unknown.outcome).toBe('failed');
    expect(unknown.failedTask?.task).toBe('validate');
    expect(unknown.failedTask?.result).toMatchObject({ error_code: 'unknown_worker' });

    expect((await runner({ playbook: CREATE, extraVars: vmVars('s-fits', { worker: 'tiny' }) })).outcome).toBe('ok');
    const full = await runner({ playbook: CREATE, extraVars: vmVars('s-full', { worker: 'tiny' }) });
    expect(full.outcome).toBe('failed');
    expect(full.failedTask).toMatchObject({ task: 'validate', result: expect.objectContaining({ error_code: 'no_capacity' }) });
    expect(full.failedTask?.msg).toMatch(/tiny lacks capacity: core \(requested 2, free 0\)/);
  });

  it('accepts the handler\'s null fields and an explicit instance_name', async () => {
    const { runner } = await testRunner();
    const vars = vmVars('s-null', { name: null, image: null, fail_at: null, instance_name: 'given-name', worker: null });
    const r = await runner({ playbook: CREATE, extraVars: vars });
    expect(r.outcome, r.stderrTail).toBe('ok');
    expect(vmOf(r)).toMatchObject({ instance_name: 'given-name', state: 'ACTIVE' });
    expect(existsSync(vmFile('given-name'))).toBe(true);
    const d = await runner({ playbook: DELETE, extraVars: vars });
    expect(vmOf(d)).toMatchObject({ instance_name: 'given-name', existed: true });
  });
});
