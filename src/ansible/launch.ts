import { execa } from 'execa';

/** What starts one ansible-playbook process for the runner: spawned (execa) or forked by a warm zygote. */
export interface LaunchCommand {
  /** ansible-playbook's path (the zygote execs it instead of forking when a setting fixed at import differs). */
  file: string;
  args: string[];
  /** The run's own variables; the launcher adds the service's environment under them. */
  env: Record<string, string>;
  cwd: string;
  /** The run directory: the warm child leaves its exit code there, in case the zygote dies first. */
  runDir: string;
  stdout: (chunk: Buffer) => void;
  stderr: (chunk: Buffer) => void;
}

export interface Launched {
  /** Leader of the run's own process group (its pid); undefined when nothing started. */
  pid: number | undefined;
  /** Resolves when the process exited and its stdout and stderr ended. */
  done: Promise<LaunchExit>;
  /** How it was started: `spawn` (a new ansible-playbook process) or `warm` (a zygote's fork). */
  via: 'spawn' | 'warm';
}

export interface LaunchExit {
  /** Null when killed by a signal or never started. */
  exitCode: number | null;
  /** Why it could not start, or who killed it when we did not (for the stderr tail). */
  failure?: string;
}

export type Launcher = (command: LaunchCommand) => Promise<Launched>;

/**
 * Today's way: spawn ansible-playbook `detached`, so it leads a new process group
 * that also holds its forked workers and the module processes they start; our own
 * cwd keeps stray ansible.cfg files out.
 */
export const spawnLauncher: Launcher = async (command) => {
  const child = execa(command.file, command.args, {
    cwd: command.cwd,
    env: command.env,
    extendEnv: true,
    detached: true,
    reject: false,
    stdin: 'ignore',
    buffer: false,
  });
  child.stdout?.on('data', command.stdout);
  child.stderr?.on('data', command.stderr);
  const done = child.then((finished): LaunchExit => {
    if (finished.exitCode !== undefined) return { exitCode: finished.exitCode };
    // Could not start (ENOENT, EACCES) or killed (by us, or by the OOM killer): execa's message says which.
    return { exitCode: null, failure: finished.message };
  });
  return { pid: child.pid, done, via: 'spawn' };
};
