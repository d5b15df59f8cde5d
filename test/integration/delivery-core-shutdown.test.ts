import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AnyHandlerPlugin } from '../../src/handlers/types.js';
import { BUILTIN_PLUGINS } from '../../src/handlers/index.js';
import { testConfig } from '../helpers/config.js';
import { within } from '../helpers/delivery-core.js';
import { sleep } from '../helpers/kafka.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { vmWith } from '../helpers/sim.js';
import { PLUGINS_WITH_SLOW, processesMentioning, slowEvent, slowHandler, testRoot } from '../helpers/slow.js';

/** SIGKILL every process whose command line names this test's private folder (its playbook runs), by pid. */
function killRunsUnder(root: string): number {
  const pids = processesMentioning(root).map((line) => Number(line.split(' ')[0])).filter((pid) => pid > 0 && pid !== process.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids.length;
}

// Issue 7, finding 9: stop() had no hard deadline. After the grace period
// it cancels running operations, but a create's cleanup then runs under its
// own limit (`timeouts.cleanup`, 10 minutes by default) that ignores the
// shutdown, and stop() waits for it. Expected: stop() resolves within
// shutdown_grace plus a bounded extra.
describe('delivery core: shutdown deadline', () => {
  let amh: TestService | undefined;
  let root = '';
  let stopping: Promise<void> | undefined;

  afterAll(async () => {
    if (!amh) return;
    // Today the cleanup playbooks sleep for 10 minutes each: end them (only this test's runs) so the file can finish.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await within(stopping ?? amh.stop(), 1000)) === 'timeout') killRunsUnder(root);
    killRunsUnder(root); // a stop() that gave up on a cleanup must not leave its 10-minute sleep behind either
  });

  it('stop() resolves within shutdown_grace + a bounded extra while a cleanup playbook would sleep 10 minutes', async () => {
    amh = await startTestService({ consumer: { shutdown_grace: '2s', shutdown_timeout: '10s' } });
    root = testRoot(amh.config);
    // `sim.delay_seconds` makes every sim module call, the create's and its cleanup's, sleep that long first.
    await amh.send(vmWith('hang-1', [], { labels: { 'sim.delay_seconds': '600' } }));
    const deadline = Date.now() + 30_000;
    while (processesMentioning(root).length === 0 && Date.now() < deadline) await sleep(200);
    expect(processesMentioning(root).length).toBeGreaterThan(0); // the create's playbook runs
    await sleep(3000); // well inside its first module call

    const t0 = Date.now();
    stopping = amh.service.stop();
    const outcome = await within(stopping, 20_000);
    const elapsed = Date.now() - t0;
    expect(outcome, `stop() still pending after ${elapsed} ms`).not.toBe('timeout');
    expect(elapsed).toBeLessThan(20_000);
    // The deadline killed the cleanup run too: nothing of this test's playbooks is left.
    const gone = Date.now() + 5_000;
    while (processesMentioning(root).length > 0 && Date.now() < gone) await sleep(200);
    expect(processesMentioning(root)).toEqual([]);
  });
});

// Finding 9, the other half: an operation that ignores its cancellation
// signal (a handler awaiting something that never looks at `ctx.signal`).
// A test plugin whose create never settles until the test releases it.
describe('delivery core: shutdown deadline with a handler that ignores cancellation', () => {
  let amh: TestService | undefined;
  let release: () => void = () => undefined;
  let running = false;
  const stuckPlugin = {
    name: 'stuck',
    description: 'test plugin: a create that ignores its abort signal',
    resourceTypes: ['Stuck'],
    settingsSchema: () => z.object({}).strict(),
    playbooks: () => ({}),
    create: () => {
      running = true;
      return new Promise<never>((_, reject) => (release = () => reject(new Error('released by the test'))));
    },
  } as unknown as AnyHandlerPlugin;

  afterAll(async () => {
    release();
    await amh?.stop();
  });

  it('stop() resolves within shutdown_grace + a bounded extra while an operation ignores its signal', async () => {
    amh = await startTestService(
      { consumer: { shutdown_grace: '2s', shutdown_timeout: '10s' }, handlers: { stuck: { plugin: 'stuck' } } },
      { plugins: [...BUILTIN_PLUGINS, stuckPlugin] },
    );
    await amh.send({ event_id: randomUUID(), operation: 'REDEEM', sliver_id: 'stuck-1', slice_id: 'slice-stuck', resource_type: 'Stuck', sequence: 1, timestamp: Date.now(), node_sliver: { name: 'item' } });
    for (const t0 = Date.now(); !running && Date.now() - t0 < 30_000; ) await sleep(100);
    expect(running).toBe(true);

    const t0 = Date.now();
    const outcome = await within(amh.service.stop(), 20_000);
    const elapsed = Date.now() - t0;
    expect(outcome, `stop() still pending after ${elapsed} ms`).not.toBe('timeout');
    expect(elapsed).toBeLessThan(20_000);
  });
});

// Issue 7, finding 12(b): each running operation adds an abort listener to
// the service's long-lived shutdown signal; with more than 10 at once Node
// prints "MaxListenersExceededWarning ... abort listeners added to [AbortSignal]".
describe('delivery core: many operations at once', () => {
  let amh: TestService | undefined;
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);

  afterAll(async () => {
    process.off('warning', onWarning);
    await amh?.stop();
  });

  it('20 operations running at once (concurrency 20) cause no MaxListenersExceededWarning', async () => {
    process.on('warning', onWarning);
    const state = join(testRoot(testConfig()), 'slow');
    amh = await startTestService({ ...slowHandler(state), consumer: { concurrency: 20 } }, { plugins: PLUGINS_WITH_SLOW });
    await amh.send(...Array.from({ length: 20 }, (_, i) => slowEvent(`many-${i}`, 'REDEEM', 1, 8)));
    const replies = await amh.replies(20, 100_000);
    expect(replies.filter((r) => r.outcome === 'OK')).toHaveLength(20);
    await sleep(100); // warnings are emitted on the next tick
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
  });
});
