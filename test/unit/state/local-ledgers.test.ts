import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../src/observability/logger.js';
import { emptyLedger } from '../../../src/state/ledger.js';
import { LMDB_OPTIONS, LocalLedgers } from '../../../src/state/local-ledgers.js';
import { AvroCodec, SchemaCatalog } from '../../../src/codec/index.js';

/** The store keeps ledgers as their state-topic bytes. */
const CODEC = new AvroCodec(SchemaCatalog.load());

describe('LocalLedgers', () => {
  const root = mkdtempSync(join(tmpdir(), 'amh-local-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('opens a directory named after a dotted topic (amh.state), writes, checkpoints and reopens it', async () => {
    const dir = join(root, 'amh.state');
    const store = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    await store.write(2, new Map([['s1', { ...emptyLedger('s1'), version: 3 }]]), 41n);
    expect(store.get('s1')?.version).toBe(3);
    expect(store.checkpoint(2)).toBe(41n);
    await store.close();
    const again = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    expect(again.checkpoint(2)).toBe(41n);
    expect([...again.ledgersOf(2)].map((l) => l.sliver_id)).toEqual(['s1']);
    await again.clearPartition(2);
    expect(again.get('s1')).toBeUndefined();
    await again.close();
  });

  it('ledgersOf merges staged and committed ledgers in sliver id order, each once (a staged update of a committed sliver included)', async () => {
    const store = await LocalLedgers.open(join(root, 'merge'), 'amh.state', CODEC, silentLogger());
    await store.write(3, new Map(['a', 'c', 'e'].map((id) => [id, { ...emptyLedger(id), version: 1 }])));
    const committed = store.stage(3, new Map([['c', { ...emptyLedger('c'), version: 2 }], ['b', { ...emptyLedger('b'), version: 1 }], ['f', { ...emptyLedger('f'), version: 1 }], ['e', null]]));
    expect([...store.ledgersOf(3)].map((l) => `${l.sliver_id}${l.version}`)).toEqual(['a1', 'b1', 'c2', 'f1']);
    await committed;
    expect([...store.ledgersOf(3)].map((l) => `${l.sliver_id}${l.version}`)).toEqual(['a1', 'b1', 'c2', 'f1']);
    await store.close();
  });

  it('stage: reads see staged changes before their commit (get, head, ledgersOf); the checkpoint only once committed', async () => {
    const dir = join(root, 'staged');
    const store = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    await store.write(1, new Map([['old', { ...emptyLedger('old'), version: 1 }]]), 5n);
    const committed = store.stage(1, new Map([['new', { ...emptyLedger('new'), version: 4, writer: 'me' }], ['old', null]]), 9n);
    // Not committed yet (LMDB commits asynchronously): visible to reads anyway, deletions included.
    expect(store.checkpoint(1)).toBe(5n);
    expect(store.get('new')?.version).toBe(4);
    expect(store.head('new')).toEqual({ writer: 'me', epoch: 0, version: 4 });
    expect(store.get('old')).toBeUndefined();
    expect(store.head('old')).toBeUndefined();
    expect([...store.ledgersOf(1)].map((l) => l.sliver_id)).toEqual(['new']);
    expect([...store.ledgersOf(0)]).toEqual([]);
    await committed;
    expect(store.checkpoint(1)).toBe(9n);
    expect(store.get('new')?.version).toBe(4);
    expect([...store.ledgersOf(1)].map((l) => l.sliver_id)).toEqual(['new']);
    await store.close();
    const again = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    expect(again.get('new')?.version).toBe(4);
    expect(again.get('old')).toBeUndefined();
    await again.close();
  });

  it('stage commits behind the caller, one commit at a time: a sliver staged again while a commit runs is written once, as it stands last', async () => {
    const dir = join(root, 'coalesced');
    const store = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    const ledger = (version: number) => ({ ...emptyLedger('s'), version });
    // Staged in one turn of the event loop: one commit.
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.stage(0, new Map([['s', ledger(i + 1)]]), BigInt(i + 1))));
    expect(store.stats).toEqual({ staged: 0, commits: 1, stagedCalls: 50, ledgersWritten: 1 });
    expect(store.checkpoint(0)).toBe(50n);
    // Staged while a commit runs (a lease mark, renewals, an answer): all of them in the next commit.
    const first = store.stage(0, new Map([['s', ledger(51)]]), 51n);
    await new Promise((resolve) => setImmediate(resolve));
    const rest = Array.from({ length: 49 }, (_, i) => store.stage(0, new Map([['s', ledger(i + 52)]]), BigInt(i + 52)));
    expect(store.get('s')?.version).toBe(100);
    await Promise.all([first, ...rest]);
    expect(store.stats.commits).toBeLessThanOrEqual(3);
    expect(store.stats.ledgersWritten).toBeLessThanOrEqual(3);
    expect(store.stats.staged).toBe(0);
    expect(store.get('s')?.version).toBe(100);
    expect(store.checkpoint(0)).toBe(100n);
    // A direct write is in order with what was staged before it.
    store.stage(0, new Map([['s', ledger(101)]]));
    await store.write(0, new Map([['s', null]]), 102n);
    expect(store.get('s')).toBeUndefined();
    await store.close();
    const again = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    expect(again.get('s')).toBeUndefined();
    expect(again.checkpoint(0)).toBe(102n);
    await again.close();
  });

  it('commits at most every 100 ms: a mark and its answer staged a few milliseconds apart are one put', async () => {
    const dir = join(root, 'paced');
    const store = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    const ledger = (id: string, version: number) => ({ ...emptyLedger(id), version });
    const staged: Promise<void>[] = [];
    const started = performance.now();
    // Ten slivers, each staged twice 3 ms apart (its mark, then its answer), one sliver every 3 ms: 60 ms of stages.
    for (let i = 0; i < 10; i++) {
      staged.push(store.stage(0, new Map([[`s${i}`, ledger(`s${i}`, 1)]]), BigInt(2 * i + 1)));
      await new Promise((resolve) => setTimeout(resolve, 3));
      staged.push(store.stage(0, new Map([[`s${i}`, ledger(`s${i}`, 2)]]), BigInt(2 * i + 2)));
    }
    await Promise.all(staged);
    const elapsed = performance.now() - started;
    const { commits, ledgersWritten, stagedCalls } = store.stats;
    expect(stagedCalls).toBe(20);
    // One commit per started 100 ms (plus the first at once), never one per stage.
    expect(commits).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
    // The pairs follow one another, so a commit's start splits at most one pair: the rest are one put each.
    expect(ledgersWritten).toBeLessThanOrEqual(10 + commits - 1);
    for (let i = 0; i < 10; i++) expect(store.get(`s${i}`)?.version).toBe(2);
    expect(store.checkpoint(0)).toBe(20n);
    await store.close();
  });

  it("a store of the format before (records compressed with lmdb-js' default dictionary) is rebuilt, not read", async () => {
    const dir = join(root, 'format-4');
    // As the release before wrote it: format 4, LZ4 with lmdb-js' built-in dictionary.
    const old = open({ path: dir, compression: { threshold: 256 }, maxDbs: 8, noSubdir: false });
    await old.openDB<{ format: number; topic: string }, string>({ name: 'meta' }).put('meta', { format: 4, topic: 'amh.state' });
    const reply = Buffer.from('a VM reply, long enough to be compressed '.repeat(20));
    const head = { writer: '', epoch: 0, version: 7, partition: 0 };
    await old.openDB({ name: 'ledgers' }).put('s1', { ...emptyLedger('s1'), version: 7, partition: 0, reply });
    await old.openDB({ name: 'heads' }).put('s1', head);
    await old.openDB({ name: 'by-partition', keyEncoding: 'ordered-binary' }).put([0, 's1'], true);
    await old.openDB({ name: 'checkpoints' }).put(0, '5');
    await old.close();
    const store = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    expect(store.get('s1')).toBeUndefined();
    await store.write(0, new Map([['s1', { ...emptyLedger('s1'), version: 8 }]]));
    expect(store.get('s1')?.version).toBe(8);
    await store.close();
  });

  it('keeps a ledger with a VM-sized reply compressed, and reads it back exactly after a reopen', async () => {
    const dir = join(root, 'replies');
    const reply = Buffer.from('{"outcome":"OK","management_ip":"10.0.0.7","worker":"site-w1"} '.repeat(15));
    const ledger = { ...emptyLedger('s1'), version: 2, entries: [{ event_id: 'e1', sequence: 1, operation: 'REDEEM', outcome: 'OK', finished_at: 1, reply }] };
    const store = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    await store.write(1, new Map([['s1', ledger]]));
    await store.close();
    const raw = open({ path: dir, ...LMDB_OPTIONS, readOnly: true });
    const stored = raw.openDB<Buffer, string>({ name: 'ledgers', encoding: 'binary' }).get('s1');
    await raw.close();
    expect(stored?.[0]).toBe(0x4c); // LZ4, local-value.ts
    expect(stored?.length).toBeLessThan(reply.length);
    const again = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    expect(again.get('s1')).toEqual(ledger);
    await again.close();
  });

  it('a store with a ledger that does not decode is found at open (the check decodes every ledger) and rebuilt', async () => {
    const dir = join(root, 'undecodable');
    const store = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    await store.write(1, new Map([['s1', { ...emptyLedger('s1'), version: 2 }]]));
    await store.close();
    // LZ4's tag and then garbage: lmdb reads it as any other value; only decoding it shows the damage.
    const raw = open({ path: dir, ...LMDB_OPTIONS });
    await raw.openDB<Buffer, string>({ name: 'ledgers', encoding: 'binary' }).put('s1', Buffer.from('L\x05\x00\x00\x00garbage'));
    await raw.close();
    const again = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    expect(again.get('s1')).toBeUndefined();
    expect(again.count(1)).toBe(0);
    await again.close();
  });

  it('a commit someone waits for (write, flushed) does not wait out the interval', async () => {
    const store = await LocalLedgers.open(join(root, 'expedited'), 'amh.state', CODEC, silentLogger());
    const ledger = (id: string) => ({ ...emptyLedger(id), version: 1 });
    await store.stage(0, new Map([['a', ledger('a')]]), 1n); // the first commit goes at once
    vi.useFakeTimers({ toFake: ['setTimeout'] }); // the interval's timer never fires now
    try {
      const staged = store.stage(0, new Map([['b', ledger('b')]]), 2n); // waits out the interval
      await store.write(0, new Map([['c', ledger('c')]]), 3n); // would hang here if it waited too
      await staged;
      expect(store.stats.commits).toBe(2);
      store.stage(0, new Map([['d', ledger('d')]]), 4n);
      await store.flushed();
      expect(store.stats.commits).toBe(3);
      expect(store.checkpoint(0)).toBe(4n);
    } finally {
      vi.useRealTimers();
    }
    await store.close();
  });

  it('lists a sliver under the partition of its last write only: rewritten in place, moved to another partition, deleted', async () => {
    const dir = join(root, 'moves');
    const store = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    await store.write(0, new Map([['s', { ...emptyLedger('s'), version: 1 }], ['t', { ...emptyLedger('t'), version: 1 }]]));
    await store.write(0, new Map([['s', { ...emptyLedger('s'), version: 2 }]]));
    expect([...store.ledgersOf(0)].map((l) => `${l.sliver_id}${l.version}`)).toEqual(['s2', 't1']);
    expect(store.count(0)).toBe(2);
    // The state topic recreated with another partition count: the sliver's records now land in partition 2.
    await store.write(2, new Map([['s', { ...emptyLedger('s'), version: 3 }]]));
    expect([...store.ledgersOf(0)].map((l) => l.sliver_id)).toEqual(['t']);
    expect([...store.ledgersOf(2)].map((l) => `${l.sliver_id}${l.version}`)).toEqual(['s3']);
    expect(store.head('s')).toEqual({ writer: '', epoch: 0, version: 3 });
    // A tombstone read from another partition still removes the entry the sliver is listed under.
    await store.write(1, new Map([['s', null]]));
    expect([...store.ledgersOf(2)]).toEqual([]);
    expect(store.count(2)).toBe(0);
    expect(store.get('s')).toBeUndefined();
    await store.clearPartition(0);
    expect(store.get('t')).toBeUndefined();
    await store.close();
  });

  it('attach (the restore child) opens only the store its parent opened for that topic, and wipes nothing', async () => {
    const dir = join(root, 'attached');
    const parent = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    await parent.write(0, new Map([['s2', { ...emptyLedger('s2'), version: 1 }]]), 7n);
    expect(() => LocalLedgers.attach(dir, 'other.state', CODEC)).toThrow(/belongs to amh\.state/);
    expect(() => LocalLedgers.attach(join(root, 'never-opened'), 'amh.state', CODEC)).toThrow(/belongs to nothing/);
    const child = LocalLedgers.attach(dir, 'amh.state', CODEC);
    expect(child.checkpoint(0)).toBe(7n);
    expect(child.get('s2')?.version).toBe(1);
    await parent.close();
  });

  it('skips the full check only for a store exactly as its last clean close left it; a change or a crash means a check', async () => {
    const dir = join(root, 'clean-close');
    const mark = join(dir, 'closed-cleanly.json');
    const first = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    await first.write(1, new Map([['s3', { ...emptyLedger('s3'), version: 2 }]]), 9n);
    await first.close();
    expect(existsSync(mark)).toBe(true);
    const again = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    expect(existsSync(mark)).toBe(false); // a crash from now on leaves no mark
    expect(again.get('s3')?.version).toBe(2);
    await again.close();
    // Damaged behind our back after the clean close (same size): checked, found bad, rebuilt from nothing.
    const data = join(dir, 'data.mdb');
    writeFileSync(data, Buffer.alloc(statSync(data).size, 0x5a));
    const checked = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    expect(checked.get('s3')).toBeUndefined();
    expect(checked.checkpoint(1)).toBeUndefined();
    await checked.close();
  });
});
