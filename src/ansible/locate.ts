import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ConfigError } from '../errors/index.js';

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Which ansible-playbook to run: $AMH_ANSIBLE_PLAYBOOK, else the pinned one in
 * <repo>/.venv (made by `npm run ansible:setup`), else the first on PATH.
 * A set but unusable AMH_ANSIBLE_PLAYBOOK is an error, not a silent fallback.
 */
export function locateAnsiblePlaybook(repoRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.AMH_ANSIBLE_PLAYBOOK;
  if (explicit) {
    if (isExecutableFile(explicit)) return explicit;
    throw new ConfigError(`AMH_ANSIBLE_PLAYBOOK=${explicit} is not an executable file`);
  }
  const venv = join(repoRoot, '.venv', 'bin', 'ansible-playbook');
  if (isExecutableFile(venv)) return venv;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutableFile(join(dir, 'ansible-playbook'))) return join(dir, 'ansible-playbook');
  }
  throw new ConfigError(
    `no ansible-playbook found (AMH_ANSIBLE_PLAYBOOK unset, none in ${venv} or on PATH): run \`npm run ansible:setup\``,
  );
}
