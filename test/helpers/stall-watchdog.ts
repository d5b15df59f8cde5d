// Vitest setup file of the integration projects: a watchdog thread per test
// file that ends the file's process when its main thread has not turned its
// event loop for STALL_MS. Test and hook timeouts run on that loop, so a
// blocked loop (a synchronous wait that never returns) would otherwise hang the
// whole run until CI's limit with no word of where. The watchdog writes the
// test that was running and the threads' native stacks (when gdb is there) to
// stderr, then kills the process: vitest reports the file as failed at once.
import { Worker } from 'node:worker_threads';
import { beforeEach } from 'vitest';

const STALL_MS = Number(process.env.AMH_TEST_STALL_MS ?? 300_000);
const NAME_BYTES = 512;

// [0]: last heartbeat (ms since the epoch / 1000, in seconds: fits an Int32); the rest: the running test's name.
const shared = new SharedArrayBuffer(4 + NAME_BYTES);
const beat = new Int32Array(shared, 0, 1);
const name = new Uint8Array(shared, 4, NAME_BYTES);
const now = (): number => Math.floor(Date.now() / 1000);
Atomics.store(beat, 0, now());
setInterval(() => Atomics.store(beat, 0, now()), 1000).unref();

beforeEach((ctx) => {
  const bytes = new TextEncoder().encode(`${ctx.task.file?.name ?? '?'} > ${ctx.task.name}`).subarray(0, NAME_BYTES - 1);
  name.fill(0);
  name.set(bytes);
});

const watchdog = new Worker(
  `
  const { workerData } = require('node:worker_threads');
  const { writeSync } = require('node:fs');
  const { spawnSync } = require('node:child_process');
  const beat = new Int32Array(workerData.shared, 0, 1);
  const name = new Uint8Array(workerData.shared, 4, workerData.nameBytes);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    Atomics.wait(pause, 0, 0, 5000);
    const stalled = Math.floor(Date.now() / 1000) - Atomics.load(beat, 0);
    if (stalled * 1000 < workerData.stallMs) continue;
    const test = Buffer.from(name).toString('utf8').replace(/\\0+$/, '');
    writeSync(2, '\\n[stall-watchdog] pid ' + process.pid + ': the event loop has not turned for ' + stalled + ' s, in: ' + test + '\\n');
    const gdb = spawnSync('gdb', ['-p', String(process.pid), '-batch', '-ex', 'thread apply all bt 20'], { encoding: 'utf8', timeout: 60000 });
    if (gdb.stdout) writeSync(2, gdb.stdout.split('\\n').filter((l) => /^(Thread|#)/.test(l)).join('\\n') + '\\n');
    writeSync(2, '[stall-watchdog] killing the test process\\n');
    process.kill(process.pid, 'SIGKILL');
  }
  `,
  { eval: true, workerData: { shared, nameBytes: NAME_BYTES, stallMs: STALL_MS } },
);
watchdog.unref();
