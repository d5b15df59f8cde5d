import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './config.js';
import { sleep } from './kafka.js';

const RUN_SERVICE = join(REPO, 'test/fixtures/plugins/run-service.mjs');

/** An `amh run` in its own process (with the Slow test plugin), to kill -9 and restart. */
export interface AmhProcess {
  child: ChildProcess;
  /** Everything it logged so far (JSON lines on stderr). */
  log(): string;
  /** Wait until `pattern` occurs `count` times in the log. */
  waitForLog(pattern: string, count?: number, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export function startAmhProcess(configFile: string): AmhProcess {
  if (!existsSync(join(REPO, 'dist/index.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  const child = spawn(process.execPath, [RUN_SERVICE, configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    log: () => text,
    exited,
    async waitForLog(pattern, count = 1, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (text.split(pattern).length - 1 < count) {
        if (child.exitCode !== null) throw new Error(`amh exited (${child.exitCode}) before logging ${pattern}:\n${text.slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`no ${count}x ${pattern} within ${timeoutMs} ms:\n${text.slice(-3000)}`);
        await sleep(100);
      }
    },
  };
}
