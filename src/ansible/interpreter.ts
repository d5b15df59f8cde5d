import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { execa } from 'execa';

const cache = new Map<string, Promise<string | undefined>>();

/**
 * The Python that runs ansible-playbook (its sys.executable). Modules on
 * localhost must run with it: interpreter discovery would pick /usr/bin/python3
 * or a pyenv shim, which may lack what the venv has or not even start.
 * Read from the shebang when it names an interpreter directly (venv, distro
 * package); otherwise ask `ansible-playbook --version`, whose last line ends
 * with "(<sys.executable>)". Cached per ansible-playbook path.
 */
export function ansiblePython(ansiblePlaybook: string): Promise<string | undefined> {
  let found = cache.get(ansiblePlaybook);
  if (!found) {
    found = discover(ansiblePlaybook);
    cache.set(ansiblePlaybook, found);
  }
  return found;
}

async function discover(ansiblePlaybook: string): Promise<string | undefined> {
  const fromShebang = await shebangInterpreter(ansiblePlaybook);
  if (fromShebang) return fromShebang;
  const run = await execa(ansiblePlaybook, ['--version'], { reject: false, stdin: 'ignore', timeout: 60_000 });
  const match = /python version = .*\((\/[^()]+)\)\s*$/m.exec(String(run.stdout ?? ''));
  return match?.[1];
}

async function shebangInterpreter(path: string): Promise<string | undefined> {
  let head: string;
  try {
    head = (await readFile(path)).subarray(0, 512).toString('utf8');
  } catch {
    return undefined;
  }
  const first = /^#!\s*(\S+)/.exec(head)?.[1];
  if (!first || !isAbsolute(first) || /\/env$/.test(first) || !/python[\d.]*$/.test(first)) return undefined;
  return first;
}
