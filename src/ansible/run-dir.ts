import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toUnsafeYaml } from './extravars.js';
import type { PlaybookRunRequest } from './types.js';

/** What one run needs on disk and in its environment. */
export interface PreparedRun {
  dir: string;
  args: string[];
  env: Record<string, string>;
}

export interface PrepareOptions {
  workDir: string;
  /** `<repo>/playbooks`: holds callback_plugins/, library/, module_utils/. */
  playbooksDir: string;
  /** sys.executable of the ansible install; undefined = let Ansible discover one. */
  python: string | undefined;
}

/**
 * A private directory per run (mkdtemp: mode 0700) holding the extra vars
 * (0600; passed as `-e @file`, so no value is ever parsed from argv or a
 * shell, and tagged !unsafe, so none is ever templated: see extravars.ts),
 * the generated inventory and Ansible's own temp/home directories, so
 * concurrent runs share nothing and cleanup is one `rm -r`.
 */
export async function prepareRun(request: PlaybookRunRequest, options: PrepareOptions): Promise<PreparedRun> {
  await mkdir(options.workDir, { recursive: true });
  const dir = await mkdtemp(join(options.workDir, 'run-'));
  const extraVars = join(dir, 'extravars.yml');
  await writeFile(extraVars, toUnsafeYaml(request.extraVars), { mode: 0o600 });

  let inventory = request.inventory;
  const env: Record<string, string> = {
    ...baseRunEnv(options.playbooksDir),
    ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
    ANSIBLE_HOME: join(dir, 'home'),
  };
  if (inventory === undefined) {
    inventory = join(dir, 'inventory.yml');
    await writeFile(inventory, localInventory(options.python));
    // Modules on localhost are copied to remote_tmp: keep them in the run dir too.
    env.ANSIBLE_REMOTE_TEMP = join(dir, 'remote-tmp');
  }
  Object.assign(env, request.env ?? {});
  return { dir, env, args: ['-i', inventory, '-e', `@${extraVars}`, request.playbook] };
}

/** The settings every run gets (the warm runner's zygote imports Ansible with them too); the run adds its own directories. */
export function baseRunEnv(playbooksDir: string): Record<string, string> {
  return {
    ANSIBLE_STDOUT_CALLBACK: 'amh_json',
    ANSIBLE_CALLBACK_PLUGINS: join(playbooksDir, 'callback_plugins'),
    ANSIBLE_LIBRARY: join(playbooksDir, 'library'),
    ANSIBLE_MODULE_UTILS: join(playbooksDir, 'module_utils'),
    ANSIBLE_RETRY_FILES_ENABLED: 'false',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_DEPRECATION_WARNINGS: 'false',
    PYTHONUNBUFFERED: '1',
  };
}

/** The inventory as JSON (valid YAML): no quoting rules to get wrong for odd interpreter paths. */
function localInventory(python: string | undefined): string {
  const vars: Record<string, string> = { ansible_connection: 'local' };
  if (python) vars.ansible_python_interpreter = python;
  return `${JSON.stringify({ all: { hosts: { localhost: vars } } }, null, 2)}\n`;
}
