import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ansiblePlaybook } from '../helpers/ansible.js';
import { REPO } from '../helpers/config.js';

const run = promisify(execFile);
const PRODUCTION = join(REPO, 'playbooks/production');
const work = mkdtempSync(join(tmpdir(), 'amh-syntax-'));
// A private Ansible home and no sim library: production playbooks must stand on the collections alone.
const env = { ...process.env, ANSIBLE_HOME: join(work, 'home'), ANSIBLE_LOCAL_TEMP: join(work, 'tmp'), ANSIBLE_NOCOLOR: '1', ANSIBLE_LIBRARY: '', ANSIBLE_MODULE_UTILS: '' };

/** Every YAML file under playbooks/production (new ones are covered without touching this test). */
function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    // Role templates and files are data for the target, not Ansible syntax.
    if (entry.isDirectory()) return ['templates', 'files'].includes(entry.name) ? [] : yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

type Kind = 'playbook' | 'tasks' | 'data';

/** A list of plays is a playbook; another list of mappings is a task file; mappings (vars, requirements) are data. */
function kindOf(doc: unknown): Kind {
  if (!Array.isArray(doc) || doc.length === 0) return 'data';
  const isPlay = (item: unknown) =>
    typeof item === 'object' && item !== null && ['hosts', 'import_playbook', 'ansible.builtin.import_playbook'].some((k) => k in item);
  return doc.every(isPlay) ? 'playbook' : 'tasks';
}

const files = yamlFiles(PRODUCTION).map((path) => {
  const doc: unknown = parse(readFileSync(path, 'utf8'));
  return { path, name: relative(PRODUCTION, path), doc, kind: kindOf(doc) };
});

/** A task file cannot be syntax-checked alone: a throwaway play imports it statically. */
function wrap(path: string): string {
  const wrapper = join(work, `${relative(PRODUCTION, path).replaceAll('/', '__')}.wrapper.yml`);
  writeFileSync(wrapper, `- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.import_tasks: ${JSON.stringify(path)}\n`);
  return wrapper;
}

async function syntaxCheck(paths: string[]): Promise<string | null> {
  try {
    await run(ansiblePlaybook(), ['--syntax-check', '-i', 'localhost,', ...paths], { env, timeout: 120_000, maxBuffer: 8 << 20 });
    return null;
  } catch (err) {
    const { stderr, stdout, message } = err as { stderr?: string; stdout?: string; message: string };
    return (stderr || stdout || message).trim().split('\n').slice(0, 8).join('\n');
  }
}

/** `ns.coll` of every module key, lookup, filter or test a YAML document names (ansible.builtin aside). */
function collectionsNamed(doc: unknown, found = new Set<string>()): Set<string> {
  const fqcn = /^([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*$/;
  const inText = /(?:lookup|query|q)\(\s*['"]([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z0-9_]+['"]|(?:\||\bis\s+(?:not\s+)?)\s*([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z0-9_]+/g;
  const add = (name: string | undefined) => name && !/^ansible\.(builtin|legacy)$/.test(name) && found.add(name);
  if (typeof doc === 'string') for (const m of doc.matchAll(inText)) add(m[1] ?? m[2]);
  else if (Array.isArray(doc)) doc.forEach((d) => collectionsNamed(d, found));
  else if (doc && typeof doc === 'object') {
    for (const [key, value] of Object.entries(doc)) {
      add(fqcn.exec(key)?.[1]);
      collectionsNamed(value, found);
    }
  }
  return found;
}

describe('production playbooks', () => {
  const playbooks = files.filter((f) => f.kind === 'playbook');
  const taskFiles = files.filter((f) => f.kind === 'tasks');

  it('are found by the glob (the network and switch ones at least)', () => {
    const names = playbooks.map((f) => f.name);
    for (const expected of ['net_create.yml', 'net_delete.yml', 'net_probe.yml', 'switch_create.yml', 'switch_delete.yml', 'switch_probe.yml']) {
      expect(names).toContain(expected);
    }
    expect(taskFiles.length).toBeGreaterThan(0);
  });

  it('every playbook and task file passes ansible-playbook --syntax-check with the declared collections', async () => {
    const targets = [...playbooks.map((f) => ({ name: f.name, path: f.path })), ...taskFiles.map((f) => ({ name: f.name, path: wrap(f.path) }))];
    // One run for all (~2 s); only when it fails, one run per file to name every broken one.
    if ((await syntaxCheck(targets.map((t) => t.path))) === null) return;
    const failures: string[] = [];
    for (const target of targets) {
      const error = await syntaxCheck([target.path]);
      if (error) failures.push(`${target.name}:\n${error}`);
    }
    expect(failures.join('\n\n')).toBe('');
  });

  it('requirements.yml declares every collection they name, at the version the syntax check used', async () => {
    const requirements = files.find((f) => f.name === 'requirements.yml')?.doc as { collections?: { name: string; version: string }[] } | undefined;
    const declared = new Map((requirements?.collections ?? []).map((c) => [c.name, c.version]));
    const galaxy = join(dirname(ansiblePlaybook()), 'ansible-galaxy');
    const { stdout } = await run(galaxy, ['collection', 'list', '--format', 'json'], { env, timeout: 60_000, maxBuffer: 8 << 20 });
    const installed = new Map(
      Object.values(JSON.parse(stdout) as Record<string, Record<string, { version: string }>>).flatMap((byName) =>
        Object.entries(byName).map(([name, { version }]) => [name, version] as const),
      ),
    );
    const problems: string[] = [];
    for (const f of files) {
      for (const name of collectionsNamed(f.doc)) {
        if (!declared.has(name)) problems.push(`${f.name} uses ${name}, which requirements.yml does not declare`);
        else if (!installed.has(name)) problems.push(`${name} is not installed: run scripts/ensure-ansible.sh (ansible== in requirements-ansible.txt)`);
        else if (installed.get(name) !== declared.get(name)) {
          problems.push(`requirements.yml pins ${name} ${declared.get(name)}, the syntax check ran with ${installed.get(name)}`);
        }
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  });
});
