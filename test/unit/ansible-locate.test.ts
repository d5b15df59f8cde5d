import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { locateAnsiblePlaybook } from '../../src/ansible/locate.js';
import { ConfigError } from '../../src/errors/index.js';
import { playbooksDir, repoRoot } from '../../src/paths.js';

function executable(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'ansible-playbook');
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}

describe('locateAnsiblePlaybook', () => {
  const root = mkdtempSync(join(tmpdir(), 'amh-locate-'));
  const onPath = executable(join(root, 'bin'));

  it('prefers AMH_ANSIBLE_PLAYBOOK, and rejects it when not executable', () => {
    expect(locateAnsiblePlaybook(root, { AMH_ANSIBLE_PLAYBOOK: onPath })).toBe(onPath);
    expect(() => locateAnsiblePlaybook(root, { AMH_ANSIBLE_PLAYBOOK: join(root, 'nope') })).toThrow(ConfigError);
  });

  it('then PATH when there is no venv, then the venv once it exists', () => {
    expect(locateAnsiblePlaybook(root, { PATH: `/nonexistent:${join(root, 'bin')}` })).toBe(onPath);
    const venv = executable(join(root, '.venv', 'bin'));
    expect(locateAnsiblePlaybook(root, { PATH: join(root, 'bin') })).toBe(venv);
  });

  it('tells to run the setup when there is none', () => {
    const empty = mkdtempSync(join(tmpdir(), 'amh-locate-empty-'));
    expect(() => locateAnsiblePlaybook(empty, { PATH: '/nonexistent' })).toThrow(/npm run ansible:setup/);
  });
});

describe('repoRoot', () => {
  it('finds our package.json and the playbooks next to it', () => {
    expect(JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')).name).toBe('am-handlers');
    expect(existsSync(playbooksDir('callback_plugins', 'amh_json.py'))).toBe(true);
  });
});
