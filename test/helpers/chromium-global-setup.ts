// Vitest globalSetup for the integration project: makes sure Debian's chromium
// is there for the status page test (scripts/ensure-chromium.sh installs it
// with apt-get when we are root) and hands its path to the workers as
// AMH_CHROMIUM. Runs once per `vitest run`, in the main process.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/ensure-chromium.sh', import.meta.url));

export default function setup(): () => void {
  const previous = process.env.AMH_CHROMIUM;
  const run = spawnSync('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 600_000 });
  const path = run.stdout?.trim().split('\n').pop()?.trim();
  if (run.status !== 0 || !path) throw new Error(`scripts/ensure-chromium.sh failed (exit ${run.status ?? run.signal}); see its message above`);
  // Forked workers inherit process.env (the pool starts after globalSetup).
  process.env.AMH_CHROMIUM = path;
  return () => {
    if (previous === undefined) delete process.env.AMH_CHROMIUM;
    else process.env.AMH_CHROMIUM = previous;
  };
}
