import { setTimeout as sleep } from 'node:timers/promises';

/**
 * ansible-playbook runs `detached`, so it leads its own process group that
 * also holds its forked workers and the module processes they start (a
 * `command: sleep` included). Signalling -pid reaches all of them; signalling
 * the leader alone would leave the workers' children running.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false; // group already gone
    throw err;
  }
}

/** Whether any process is left in the group (one we may not signal counts). */
export function groupExists(pgid: number): boolean {
  try {
    return signalGroup(pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPERM') return true;
    throw err;
  }
}

/** Wait (bounded) until no process of the group is left, e.g. after SIGKILL. */
export async function waitGroupGone(pgid: number, maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (signalGroup(pgid, 0)) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

// Detached children are not killed with us (execa's `cleanup` skips them), so
// kill the groups of runs still in flight when this process exits normally.
const liveGroups = new Set<number>();
let exitHookInstalled = false;

export function trackGroup(pgid: number): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of liveGroups) {
        try {
          process.kill(-group, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  liveGroups.add(pgid);
  return () => liveGroups.delete(pgid);
}
