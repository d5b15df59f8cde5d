import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { outcomes, resultsWithin } from '../helpers/delivery-core.js';
import { sleep } from '../helpers/kafka.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { poaEvent, vmWith } from '../helpers/sim.js';
import { processesMentioning, testRoot } from '../helpers/slow.js';

// Issue 7, finding 13: REDEEM, MODIFY, two POAs and CLOSE of one VM back to
// back. The CLOSE cancels the running create (right), but the MODIFY and the
// POAs queued behind it then ran against a VM that no longer existed and
// failed with "does not exist". Expected: events queued behind a CLOSE that
// superseded the sliver are answered CANCELLED, "superseded by CLOSE <id>",
// without running; the create is CANCELLED and the CLOSE runs (OK).
describe('delivery core: CLOSE behind queued events', () => {
  let amh: TestService | undefined;
  afterAll(async () => {
    await amh?.stop();
  });

  it('MODIFY and POAs queued behind a superseding CLOSE are answered CANCELLED without running', async () => {
    amh = await startTestService();
    const id = 'cq-1';
    // A slow boot keeps the create running (in wait_ssh) while the rest arrive.
    const redeem = vmWith(id, [], { labels: { 'sim.boot_seconds': '60' } });
    const modify = vmWith(id, [], { operation: 'MODIFY', sequence: 2, extra: { previous_node_sliver: vmWith(id, []).node_sliver } });
    const poa1 = poaEvent(id, 'cpuinfo', {}, 3);
    const poa2 = poaEvent(id, 'numainfo', {}, 4);
    const close = vmWith(id, [], { operation: 'CLOSE', sequence: 5 });
    await amh.send(redeem);
    // The create is running (its playbook process exists) before the rest arrive, as in the issue.
    const root = testRoot(amh.config);
    const deadline = Date.now() + 30_000;
    while (processesMentioning(root).length === 0 && Date.now() < deadline) await sleep(200);
    await sleep(1000);
    await amh.send(modify, poa1, poa2, close);

    const all = [redeem, modify, poa1, poa2, close];
    const results = await resultsWithin(amh.topics.replies, all.map((e) => String(e.event_id)), 90_000);
    expect.soft(outcomes(results, all)).toEqual({
      'cq-1#1': 'CANCELLED',
      'cq-1#2': 'CANCELLED',
      'cq-1#3': 'CANCELLED',
      'cq-1#4': 'CANCELLED',
      'cq-1#5': 'OK',
    });
    const superseded = `superseded by CLOSE ${String(close.event_id)}`;
    for (const e of [redeem, modify, poa1, poa2]) {
      const r = results.get(String(e.event_id))?.[0];
      expect.soft(r?.message, `${String(e.operation)} ${String(e.sequence)}`).toContain(superseded);
      expect.soft(r?.message ?? '').not.toContain('does not exist');
    }
    // Nothing ran for them: no playbook failed, no host stats.
    for (const e of [modify, poa1, poa2]) {
      const r = results.get(String(e.event_id))?.[0];
      expect.soft(r?.failed_step ?? null, `${String(e.operation)} ${String(e.sequence)} failed_step`).toBeNull();
      expect.soft(r?.host_stats ?? [], `${String(e.operation)} ${String(e.sequence)} host_stats`).toEqual([]);
    }
    const vms = join(amh.stateDir, 'vms');
    expect(existsSync(vms) ? readdirSync(vms).filter((f) => f.endsWith('.json')) : []).toEqual([]); // the CLOSE left no VM
  });
});
