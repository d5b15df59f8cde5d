import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPlaybookRunner, locateAnsiblePlaybook } from '../../src/ansible/index.js';
import type { PlaybookRunner } from '../../src/ansible/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { repoRoot } from '../../src/paths.js';
import { replay, type ReplayLine } from '../../src/replay.js';
import { testConfig } from '../helpers/config.js';
import { collectMessages, produceRaw, withAdmin } from '../helpers/kafka.js';
import { codec, startTestService, type TestService } from '../helpers/service.js';
import { PLUGINS_WITH_SLOW, slowEvent, slowHandler, slowItems, testRoot } from '../helpers/slow.js';

/** A real runner that counts the playbooks it runs. */
function countingRunner(workDir: string): PlaybookRunner & { runs: number } {
  const real = createPlaybookRunner({ ansiblePlaybook: locateAnsiblePlaybook(repoRoot()), workDir });
  const counting = Object.assign(async (req: Parameters<PlaybookRunner>[0]) => {
    counting.runs++;
    return real(req);
  }, { runs: 0 });
  return counting;
}

// Redelivery and replay run nothing twice: answers come from the ledger on the state topic.
describe('replay safety', () => {
  const root = testRoot(testConfig());
  const state = join(root, 'slow');
  // Sent back to back: let the create finish instead of being cancelled by its CLOSE.
  const sections = { ...slowHandler(state), consumer: { cancel_create_on_close: false } };
  let first: TestService;
  let second: TestService | undefined;
  const events = [slowEvent('rp-x', 'REDEEM', 1, 0), slowEvent('rp-x', 'CLOSE', 2, 0), slowEvent('rp-y', 'REDEEM', 1, 0)];

  afterAll(async () => {
    await first?.stop();
    await second?.stop();
  });

  it('answers the events once (the baseline)', async () => {
    first = await startTestService(sections, { plugins: PLUGINS_WITH_SLOW });
    await first.send(...events);
    const replies = await first.replies(3);
    expect(replies.map((r) => [r.sliver_id, r.operation, r.outcome]).sort()).toEqual([
      ['rp-x', 'CLOSE', 'OK'],
      ['rp-x', 'REDEEM', 'OK'],
      ['rp-y', 'REDEEM', 'OK'],
    ]);
    await first.stop();
    expect(slowItems(state)).toEqual(['rp-y']);
  });

  it('`amh replay --dry-run` says every event would be answered from the ledger', async () => {
    const runner = countingRunner(join(root, 'runs'));
    const lines: ReplayLine[] = [];
    const summary = await replay(
      { config: first.config, logger: silentLogger(), runner, plugins: PLUGINS_WITH_SLOW },
      { from: 'earliest', dryRun: true },
      (line) => lines.push(line),
    );
    expect(summary).toMatchObject({ events: 3, duplicate: 3, run: 0, stale: 0, dryRun: true });
    expect(lines.map((l) => l.decision)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(runner.runs).toBe(0);
  });

  it('after the group is reset to the earliest offset, re-publishes every stored result and runs zero playbooks', async () => {
    // What an operator does with kafka-consumer-groups --reset-offsets --to-earliest while the group is stopped.
    await withAdmin((admin) => admin.resetOffsets({ groupId: first.config.kafka.group_id, topic: first.topics.events, earliest: true }));
    const runner = countingRunner(join(root, 'runs'));
    second = await startTestService(sections, {
      plugins: PLUGINS_WITH_SLOW,
      runner,
      topics: first.topics,
      groupId: first.config.kafka.group_id,
    });
    const all = await collectMessages(first.topics.replies, { count: 6, timeoutMs: 60_000 });
    const hex = (ms: typeof all) => ms.map((m) => m.value?.toString('hex')).sort();
    expect(hex(all.slice(3))).toEqual(hex(all.slice(0, 3))); // byte for byte
    expect(runner.runs).toBe(0);
    expect(slowItems(state)).toEqual(['rp-y']); // the replayed create did not resurrect rp-x
  });

  it('answers a create sent again after its delete (new event id, old sequence) STALE without running it', async () => {
    const runner = countingRunner(join(root, 'runs'));
    const resend = slowEvent('rp-x', 'REDEEM', 1, 0);
    await second!.send(resend);
    const replies = await second!.replies(7);
    expect(replies[6]).toMatchObject({ event_id: resend.event_id, outcome: 'STALE', result_code: -5 });
    expect(replies[6]?.message).toContain('older than the applied sequence 2');
    expect(slowItems(state)).toEqual(['rp-y']);
    expect(runner.runs).toBe(0);
  });

  it('`amh replay` re-publishes the range from the ledger and runs nothing', async () => {
    await second!.stop();
    const runner = countingRunner(join(root, 'runs'));
    const summary = await replay(
      { config: second!.config, logger: silentLogger(), runner, plugins: PLUGINS_WITH_SLOW },
      { from: '0', to: 'latest' },
      () => undefined,
    );
    expect(summary).toMatchObject({ events: 4, duplicate: 4, run: 0 });
    expect(runner.runs).toBe(0);
    const replies = await collectMessages(first.topics.replies, { count: 11, timeoutMs: 30_000 });
    const decoded = await Promise.all(replies.slice(7).map(async (m) => (await codec.decode('result', m.value)).value.outcome));
    expect(decoded.sort()).toEqual(['OK', 'OK', 'OK', 'STALE']);
  });

  it('`amh replay` streams a long range: it holds at most twice its concurrency of events at once (finding 12)', async () => {
    const fresh = Array.from({ length: 12 }, (_, i) => slowEvent(`rp-stream-${i}`, 'REDEEM', 1, 0));
    await produceRaw(first.topics.events, fresh.map((e) => ({ key: String(e.sliver_id), value: codec.encode('event', e) })));
    const config = testConfig({ ...sections, consumer: { concurrency: 2 }, kafka: second!.config.kafka });
    const summary = await replay({ config, logger: silentLogger(), plugins: PLUGINS_WITH_SLOW }, { from: '4', to: 'latest' }, () => undefined);
    expect(summary).toMatchObject({ events: 12, run: 12 });
    expect(summary.peakHeld).toBeLessThanOrEqual(4);
    expect(slowItems(state)).toEqual(expect.arrayContaining(fresh.map((e) => String(e.sliver_id))));
  });
});
