// Vitest globalSetup for the integration project: makes sure an
// ansible-playbook exists (pinned ansible-core in .venv, see
// scripts/ensure-ansible.sh) and hands its path to the test workers.
// Runs once per `vitest run`, in the main process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of ansible-playbook; read it through ansiblePlaybook() in test/helpers/ansible.ts. */
    ansiblePlaybook: string;
  }
}

const ensureScript = fileURLToPath(new URL('../../scripts/ensure-ansible.sh', import.meta.url));

/** Runs the script; its progress goes to our stderr, the chosen path is its last stdout line. */
function ensureAnsible(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [ensureScript], { stdio: ['ignore', 'pipe', process.stderr] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const path = stdout.trim().split('\n').pop()?.trim();
      if (code === 0 && path) resolve(path);
      else reject(new Error(`scripts/ensure-ansible.sh failed (exit ${code ?? signal}); see output above`));
    });
  });
}

export default async function setup({ provide }: Pick<TestProject, 'provide'>): Promise<() => void> {
  const previous = process.env.AMH_ANSIBLE_PLAYBOOK;
  // The script honours an executable AMH_ANSIBLE_PLAYBOOK itself, so this is cheap when set.
  const path = await ensureAnsible();
  // Both channels: forked workers inherit process.env (the pool starts after
  // globalSetup), and `provide` reaches workers that don't inherit it.
  process.env.AMH_ANSIBLE_PLAYBOOK = path;
  provide('ansiblePlaybook', path);
  return () => {
    if (previous === undefined) delete process.env.AMH_ANSIBLE_PLAYBOOK;
    else process.env.AMH_ANSIBLE_PLAYBOOK = previous;
  };
}
