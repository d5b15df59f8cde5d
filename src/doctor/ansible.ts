import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import { locateAnsiblePlaybook } from '../ansible/index.js';
import type { ResolvedConfig } from '../config/index.js';
import { errorMessage } from '../errors/index.js';
import type { HandlerRegistry } from '../handlers/index.js';
import { playbooksDir, repoRoot } from '../paths.js';
import { fail, pass, skip, type CheckResult } from './types.js';

/**
 * The oldest ansible-core the runner supports: what scripts/ensure-ansible.sh falls back to (Debian 12's
 * ansible-core) and our JSON callback still works with. The version tested is the pin in requirements-ansible.txt.
 */
export const MIN_ANSIBLE_CORE = '2.14';

const TITLE = 'ansible-playbook present with a supported version';

/** Which ansible-playbook the service would run: `runtime.ansible_playbook` (or env AMH_ANSIBLE_PLAYBOOK), the venv, PATH. */
export function configuredAnsiblePlaybook(config: ResolvedConfig, env: NodeJS.ProcessEnv = process.env): string {
  return config.runtime.ansible_playbook ?? locateAnsiblePlaybook(repoRoot(), env);
}

export async function checkAnsible(config: ResolvedConfig, env: NodeJS.ProcessEnv = process.env): Promise<{ result: CheckResult; path: string | null }> {
  let path: string;
  try {
    path = configuredAnsiblePlaybook(config, env);
  } catch (err) {
    return { result: fail('ansible', TITLE, errorMessage(err)), path: null };
  }
  const source = config.envOrigins.get('runtime.ansible_playbook') ?? (config.runtime.ansible_playbook ? 'runtime.ansible_playbook' : 'found');
  if (!isExecutable(path)) {
    return { result: fail('ansible', TITLE, `${path} (${source}) is not an executable file: run scripts/ensure-ansible.sh or fix the path`), path: null };
  }
  const run = await execa(path, ['--version'], { reject: false, stdin: 'ignore', timeout: 60_000, env: { ANSIBLE_NOCOLOR: '1' } });
  const version = /ansible-playbook \[core ([\d.]+)[^\]]*\]/.exec(String(run.stdout ?? ''))?.[1];
  if (run.exitCode !== 0 || !version) {
    const why = String(run.stderr || run.stdout || run.shortMessage).trim().split('\n').slice(-3).join(' ');
    return { result: fail('ansible', TITLE, `${path} --version failed (exit ${run.exitCode ?? run.signal}): ${why}`), path: null };
  }
  if (compareVersions(version, MIN_ANSIBLE_CORE) < 0) {
    return { result: fail('ansible', TITLE, `${path} is ansible-core ${version}; at least ${MIN_ANSIBLE_CORE} is needed (${pinNote()})`), path: null };
  }
  const callback = playbooksDir('callback_plugins', 'amh_json.py');
  if (!existsSync(callback)) return { result: fail('ansible', TITLE, `the stdout callback ${callback} is missing`), path: null };
  const pin = pinnedCore();
  const note = pin === undefined ? '' : version === pin ? ' (the pinned version)' : ` (supported; the tested pin is ${pin})`;
  return { result: pass('ansible', TITLE, `${path}: ansible-core ${version}${note}`), path };
}

/**
 * The collections that the playbooks in use declare (`requirements.yml` in a handler's playbook folder, as
 * playbooks/production has), installed at the declared versions, as `ansible-galaxy collection list` sees them.
 */
export async function checkCollections(registry: HandlerRegistry, ansiblePlaybook: string | null): Promise<CheckResult> {
  const id = 'collections';
  const title = 'Ansible collections the playbooks need';
  const files = [...new Set(registry.handlers().flatMap((h) => Object.values(h.plugin.playbooks(h.settings) as Record<string, string>).map((p) => join(dirname(p), 'requirements.yml'))))].filter((f) => existsSync(f));
  if (files.length === 0) return pass(id, title, 'none needed: no handler playbook folder has a requirements.yml (the sim playbooks need none)');
  if (!ansiblePlaybook) return skip(id, title, 'needs a working ansible-playbook');
  const wanted = new Map<string, { version: string; file: string }>();
  for (const file of files) {
    try {
      const doc = parseYaml(readFileSync(file, 'utf8')) as { collections?: ({ name: string; version?: string } | string)[] } | null;
      for (const c of doc?.collections ?? []) {
        const entry = typeof c === 'string' ? { name: c } : c;
        wanted.set(entry.name, { version: String(entry.version ?? '*'), file });
      }
    } catch (err) {
      return fail(id, title, `${file}: ${errorMessage(err)}`);
    }
  }
  const galaxy = join(dirname(ansiblePlaybook), 'ansible-galaxy');
  const run = await execa(isExecutable(galaxy) ? galaxy : 'ansible-galaxy', ['collection', 'list', '--format', 'json'], { reject: false, stdin: 'ignore', timeout: 120_000 });
  if (run.exitCode !== 0) return fail(id, title, `ansible-galaxy collection list failed: ${String(run.stderr || run.shortMessage).trim().split('\n').slice(-2).join(' ')}`);
  const installed = new Map<string, string>();
  for (const byName of Object.values(JSON.parse(String(run.stdout)) as Record<string, Record<string, { version: string }>>)) {
    for (const [name, { version }] of Object.entries(byName)) if (!installed.has(name)) installed.set(name, version);
  }
  const problems: string[] = [];
  for (const [name, { version, file }] of wanted) {
    const have = installed.get(name);
    if (!have) problems.push(`${name} ${version} is not installed (${file})`);
    else if (version !== '*' && have !== version) problems.push(`${name} is ${have}, ${file} wants ${version}`);
  }
  if (problems.length > 0) return fail(id, title, `${problems.join('; ')}: run \`ansible-galaxy collection install -r <requirements.yml>\` or scripts/ensure-ansible.sh`);
  return pass(id, title, [...wanted].map(([name, { version }]) => `${name} ${version}`).join(', '));
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The ansible-core version pinned in requirements-ansible.txt, when the package has the file. */
function pinnedCore(): string | undefined {
  try {
    return /^ansible-core==([\d.]+)/m.exec(readFileSync(join(repoRoot(), 'requirements-ansible.txt'), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

function pinNote(): string {
  const pin = pinnedCore();
  return pin ? `scripts/ensure-ansible.sh installs the pinned ${pin}` : 'see scripts/ensure-ansible.sh';
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
