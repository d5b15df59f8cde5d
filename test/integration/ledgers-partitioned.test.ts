import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { SliverLedger } from '../../src/codec/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { emptyLedger } from '../../src/state/ledger.js';
import { PartitionedLedgerStore } from '../../src/state/partitioned-store.js';
import { createTopics, kafkaClient, uniqueName } from '../helpers/kafka.js';
import { codec } from '../helpers/service.js';

// Issue 8: ledgers follow partitions, restored from the compacted topic into a local store.
describe('ledgers that follow partitions (real broker, local LMDB store)', () => {
  const kafka = kafkaClient('amh-test-ledgers');
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const topic = uniqueName('state');
  const dirs: string[] = [];
  const stores: PartitionedLedgerStore[] = [];
  /** sliver id -> partition, as the producer put them */
  const placed = new Map<string, number>();

  const newDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'amh-ledgers-'));
    dirs.push(dir);
    return dir;
  };
  const open = async (dir: string, instanceId = uniqueName('ledger-test')): Promise<PartitionedLedgerStore> => {
    const store = new PartitionedLedgerStore({ kafka, producer, codec, topic, instanceId, logger: silentLogger(), dir });
    stores.push(store);
    await store.start();
    return store;
  };
  const write = async (n: number, prefix: string): Promise<void> => {
    const ledgers: SliverLedger[] = Array.from({ length: n }, (_, i) => ({ ...emptyLedger(`${prefix}-${i}`), version: 1, writer: 'filler' }));
    const meta = await producer.send({ topic, acks: -1, messages: ledgers.map((l) => ({ key: l.sliver_id, value: codec.encode('state', l) })) });
    expect(meta.length).toBeGreaterThan(0);
  };

  afterAll(async () => {
    for (const s of stores) await s.stop();
    await producer.disconnect();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('an instance restores only the partitions assigned to it', async () => {
    await producer.connect();
    await createTopics([topic], 3, { 'cleanup.policy': 'compact' });
    await write(60, 'a');
    const all = await open(newDir());
    await all.assign([0, 1, 2]);
    for (let i = 0; i < 60; i++) {
      const id = `a-${i}`;
      expect(all.get(id), id).toBeDefined();
      for (const p of [0, 1, 2]) if ([...all.ledgersOf(p)].some((l) => l.sliver_id === id)) placed.set(id, p);
    }
    expect(placed.size).toBe(60);

    const one = await open(newDir());
    await one.assign([1]);
    const [d] = one.describe();
    expect(d).toMatchObject({ partition: 1, restored: true });
    for (const [id, p] of placed) expect(one.get(id) !== undefined, `${id} on partition ${p}`).toBe(p === 1);
    one.revoke([1]);
    expect(one.describe()).toEqual([]);
  });

  it('a restart with the local store restores only what was written since (the delta)', async () => {
    const dir = newDir();
    const first = await open(dir);
    await first.assign([0, 1, 2]);
    const cold = first.describe().reduce((n, p) => n + p.applied, 0);
    expect(cold).toBeGreaterThanOrEqual(60);
    await first.stop();
    await write(5, 'b');
    const again = await open(dir);
    await again.assign([0, 1, 2]);
    expect(again.describe().reduce((n, p) => n + p.applied, 0)).toBe(5);
    for (let i = 0; i < 5; i++) expect(again.get(`b-${i}`)).toBeDefined();
    expect(again.get('a-7')).toBeDefined();
    expect(again.localBytes()).toBeGreaterThan(0);
  });

  it('a deleted or corrupted local store is rebuilt from the topic, never trusted', async () => {
    const dir = newDir();
    const first = await open(dir);
    await first.assign([0, 1, 2]);
    await first.stop();
    // Corrupt: overwrite the LMDB data file with garbage.
    for (const f of readdirSync(dir)) writeFileSync(join(dir, f), Buffer.alloc(8192, 0x5a));
    const rebuilt = await open(dir);
    await rebuilt.assign([0, 1, 2]);
    expect(rebuilt.describe().reduce((n, p) => n + p.applied, 0)).toBeGreaterThanOrEqual(65);
    expect(rebuilt.get('a-3')).toBeDefined();
    await rebuilt.stop();
    rmSync(dir, { recursive: true, force: true });
    const fresh = await open(dir);
    await fresh.assign([0, 1, 2]);
    expect(fresh.get('b-4')).toBeDefined();
  });

  it('a tombstone on the topic removes the ledger locally, for a follower and after a restart', async () => {
    const dir = newDir();
    const s = await open(dir);
    await s.assign([0, 1, 2]);
    expect(await s.tombstone('a-9', () => true)).toBe(true);
    expect(s.get('a-9')).toBeUndefined();
    const other = await open(newDir());
    await other.assign([0, 1, 2]);
    expect(other.get('a-9')).toBeUndefined();
    expect(other.get('a-8')).toBeDefined();
  });
  it('a write with only our own records before it counts at once; a foreign record racing it decides as the log does', async () => {
    const me = uniqueName('writer');
    const s = await open(newDir(), me);
    await s.assign([0, 1, 2]);
    // Nothing foreign written meanwhile: no write waits for the reader, one after another or 30 at once.
    const own = (id: string, version: number) => s.update(id, (l) => ({ ...(l ?? emptyLedger(id)), epoch: 1, version, writer: me }));
    for (let v = 1; v <= 5; v++) expect((await own('mine-0', v)).won).toBe(true);
    const many = await Promise.all(Array.from({ length: 30 }, (_, i) => own(`mine-${i + 1}`, 1)));
    expect(many.every((w) => w.won)).toBe(true);
    expect(s.stats.waitedForReader).toBe(0);
    expect(s.get('mine-0')).toMatchObject({ version: 5, writer: me });
    expect(s.get('mine-30')).toMatchObject({ version: 1, writer: me });
    // Read back later, our older records are no conflict with our newer ones: nothing is re-asserted.
    await s.catchUp();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.get('mine-0')).toMatchObject({ version: 5, writer: me });

    // Another instance claims the same slivers at the same moment, through its own producer: whatever each
    // reader had read when its write was acknowledged, exactly one of the two may win each sliver.
    const theirProducer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await theirProducer.connect();
    const them = new PartitionedLedgerStore({ kafka, producer: theirProducer, codec, topic, instanceId: uniqueName('other'), logger: silentLogger(), dir: newDir() });
    stores.push(them);
    await them.start();
    await them.assign([0, 1, 2]);
    const claimFor = (writer: string, id: string) => (l: SliverLedger | undefined) => (l ? null : { ...emptyLedger(id), epoch: 1, version: 1, writer });
    const rounds = 40;
    const winners: string[] = [];
    try {
      for (let i = 0; i < rounds; i++) {
        const id = `race-${i}`;
        const [ours, theirs] = await Promise.all([s.update(id, claimFor(me, id)), them.update(id, claimFor('them', id))]);
        expect([ours.won, theirs.won].filter(Boolean), `${id}: one winner`).toHaveLength(1);
        winners.push(ours.won ? me : 'them');
      }
      await Promise.all([s.catchUp(), them.catchUp()]);
      for (let i = 0; i < rounds; i++) {
        expect(s.get(`race-${i}`)?.writer, `race-${i}`).toBe(winners[i]);
        expect(them.get(`race-${i}`)?.writer, `race-${i}`).toBe(winners[i]);
      }
    } finally {
      await them.stop();
      await theirProducer.disconnect();
    }
  });
});
