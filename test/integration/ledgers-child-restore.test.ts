import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SliverLedger } from '../../src/codec/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { emptyLedger } from '../../src/state/ledger.js';
import { PartitionedLedgerStore, type ChildRestoreSettings } from '../../src/state/partitioned-store.js';
import { createTopics, kafkaBrokers, kafkaClient, uniqueName } from '../helpers/kafka.js';
import { codec } from '../helpers/service.js';

// Issue 8, RSS after a cold restore: a bulk restore runs in a child process (dist/state/restore-child.js, so
// `npm run build` first) that writes into the same local store; the service follows on from its checkpoints.
describe('bulk ledger restore in a child process (real broker, local LMDB store)', () => {
  const kafka = kafkaClient('amh-test-child-restore');
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const topic = uniqueName('state');
  const dirs: string[] = [];
  const stores: PartitionedLedgerStore[] = [];
  const SLIVERS = 20_000;
  /** A writer name long enough that each partition is several fetches (about 700 B a record). */
  const FILLER = `filler-${'x'.repeat(600)}`;
  const us = uniqueName('child-owner');
  const child = (): ChildRestoreSettings => ({ connection: { brokers: kafkaBrokers(), clientId: 'amh-test-restore-child' }, minRecords: 1_000 });
  /** The ledgers of every partition, as a store restoring in this process holds them. */
  let reference: SliverLedger[][] = [];

  const open = async (options: { instanceId?: string; restoreInChild?: ChildRestoreSettings } = {}): Promise<PartitionedLedgerStore> => {
    const dir = mkdtempSync(join(tmpdir(), 'amh-child-restore-'));
    dirs.push(dir);
    const store = new PartitionedLedgerStore({ kafka, producer, codec, topic, instanceId: options.instanceId ?? uniqueName('ledger-test'), logger: silentLogger(), dir, ...options });
    stores.push(store);
    await store.start();
    return store;
  };
  const held = (store: PartitionedLedgerStore): SliverLedger[][] => [0, 1, 2].map((p) => [...store.ledgersOf(p)]);
  const ledger = (id: string, version: number, writer = FILLER, epoch = 1): SliverLedger => ({ ...emptyLedger(id), version, epoch, writer });
  const send = async (records: { key: string; value: SliverLedger | null }[]): Promise<void> => {
    for (let i = 0; i < records.length; i += 1_000) {
      const messages = records.slice(i, i + 1_000).map((r) => ({ key: r.key, value: r.value ? codec.encode('state', r.value) : null }));
      await producer.send({ topic, acks: -1, messages });
    }
  };

  beforeAll(async () => {
    await producer.connect();
    await createTopics([topic], 3, { 'cleanup.policy': 'compact' });
    // Two versions of every sliver, then a tombstone for every 20th.
    await send(Array.from({ length: SLIVERS }, (_, i) => ({ key: `s-${i}`, value: ledger(`s-${i}`, 1) })));
    await send(Array.from({ length: SLIVERS }, (_, i) => ({ key: `s-${i}`, value: ledger(`s-${i}`, 2) })));
    await send(Array.from({ length: SLIVERS / 20 }, (_, i) => ({ key: `s-${i * 20}`, value: null })));
    // Our winning record, then a superseded writer's (a lower epoch) after it: whoever restores must re-assert ours.
    await send([{ key: 'contested', value: ledger('contested', 1, us, 5) }, { key: 'contested', value: ledger('contested', 9, 'old-owner', 3) }]);
  }, 120_000);

  afterAll(async () => {
    for (const s of stores) await s.stop();
    await producer.disconnect();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('a cold restore over the threshold goes through a child, gives the same ledgers, and re-asserts our record', async () => {
    const store = await open({ instanceId: us, restoreInChild: child() });
    await store.assign([0, 1, 2]);
    expect(store.restoreChildren().started).toBe(1);
    // Each partition is handed back as the child reaches its target; the child then disconnects and exits.
    await expect.poll(() => store.restoreChildren().running, { timeout: 30_000 }).toEqual([]);
    expect(store.describe().map((d) => [d.partition, d.child, d.restored])).toEqual([
      [0, 'done', true],
      [1, 'done', true],
      [2, 'done', true],
    ]);
    // The child saw the superseded writer's record after ours; this process wrote ours again, one version up.
    await expect.poll(() => store.get('contested')?.version, { timeout: 30_000 }).toBe(2);
    expect(store.get('contested')).toMatchObject({ writer: us, epoch: 5 });

    const inProcess = await open();
    await inProcess.assign([0, 1, 2]);
    expect(inProcess.restoreChildren().started).toBe(0);
    reference = held(inProcess);
    const live = SLIVERS - SLIVERS / 20 + 1;
    expect(reference.flat()).toHaveLength(live);
    expect(inProcess.get('contested')).toMatchObject({ writer: us, epoch: 5, version: 2 });
    expect(held(store)).toEqual(reference);
    expect(store.get('s-7')?.version).toBe(2);
    expect(store.get('s-20')).toBeUndefined();

    // After the child, this process's reader follows the partitions: a write is read back.
    const outcome = await store.update('after-child', () => ledger('after-child', 1, us));
    expect(outcome.won).toBe(true);
  });

  it('a child killed mid-restore (kill -9) is survived: the restore completes from its checkpoints, nothing lost or resurrected', async () => {
    const store = await open({ restoreInChild: child() });
    const assigned = store.assign([0, 1, 2]);
    let pid: number | undefined;
    await expect
      .poll(
        () => {
          pid = store.restoreChildren().running[0];
          return pid !== undefined && store.describe().some((d) => d.child === 'running' && d.applied > 0);
        },
        { timeout: 60_000, interval: 5 },
      )
      .toBe(true);
    process.kill(pid as number, 'SIGKILL');
    await assigned;
    const after = store.describe();
    // The kill landed while the child still had work: this process restored the rest.
    expect(after.some((d) => d.child === 'failed')).toBe(true);
    expect(after.every((d) => d.restored)).toBe(true);
    expect(store.restoreChildren().running).toEqual([]);
    const reread = await open();
    await reread.assign([0, 1, 2]);
    const now = held(reread);
    expect(held(store)).toEqual(now);
    // The topic gained only this file's own writes since the reference was taken.
    expect(now.flat().filter((l) => l.sliver_id !== 'after-child')).toEqual(reference.flat());
  });

  it('stopping the store kills a running child', async () => {
    const store = await open({ restoreInChild: child() });
    void store.assign([0, 1, 2]).catch(() => undefined);
    await expect.poll(() => store.restoreChildren().running.length, { timeout: 60_000, interval: 5 }).toBe(1);
    const [pid] = store.restoreChildren().running;
    await store.stop();
    expect(() => process.kill(pid as number, 0)).toThrow(/ESRCH/);
  });
});
