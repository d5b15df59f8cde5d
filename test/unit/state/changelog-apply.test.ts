import { describe, expect, it, vi } from 'vitest';
import type { SliverLedger } from '../../../src/codec/types.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { applyChangelog, type ChangelogRecord } from '../../../src/state/changelog-apply.js';
import { encodeState } from '../../../src/state/encoded.js';
import { emptyLedger, type WriteStamp } from '../../../src/state/ledger.js';
import { partitionsForChild } from '../../../src/state/restore-delegation.js';
import { codec } from '../../helpers/service.js';

const ledger = (id: string, epoch: number, version: number, writer = 'w'): SliverLedger => ({ ...emptyLedger(id), epoch, version, writer });
const record = (offset: number, id: string | null, value: SliverLedger | null | Buffer): ChangelogRecord => ({
  offset: String(offset),
  key: id === null ? null : Buffer.from(id),
  value: value === null ? null : Buffer.isBuffer(value) ? value : codec.encode('state', value),
});
const context = (held: Record<string, WriteStamp> = {}) => ({ codec, head: (id: string) => held[id], logger: silentLogger(), topic: 't', partition: 0 });

describe('applyChangelog (the rules both the store and the restore child apply)', () => {
  it('skips records before `from`, keeps the highest (epoch, version) of a batch, and deletes on a tombstone', async () => {
    const out = await applyChangelog(
      [
        record(3, 'a', ledger('a', 1, 9)), // before `from`: already applied
        record(5, 'a', ledger('a', 1, 1)),
        record(6, 'a', ledger('a', 2, 1)),
        record(7, 'b', ledger('b', 1, 1)),
        record(8, 'b', null),
        record(9, 'c', ledger('c', 1, 4)),
      ],
      5n,
      context(),
    );
    expect(out.next).toBe(10n);
    expect(out.applied).toBe(5);
    expect([...out.changes.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(out.changes.get('a')).toMatchObject({ epoch: 2, version: 1 });
    expect(out.changes.get('b')).toBeNull();
    expect(out.conflicts).toEqual([]);
  });

  it('a record read from the topic keeps its bytes: the local store writes them without encoding it again', async () => {
    const read = record(1, 'a', ledger('a', 1, 1));
    const out = await applyChangelog([read], 0n, context());
    const applied = out.changes.get('a') as SliverLedger;
    const encode = vi.spyOn(codec, 'encode');
    try {
      expect(encodeState(codec, applied).equals(read.value as Buffer)).toBe(true);
      expect(encode).not.toHaveBeenCalled();
    } finally {
      encode.mockRestore();
    }
  });

  it('reports a lower record of another write as a conflict, against what is held locally or earlier in the batch', async () => {
    const held = { x: { writer: 'us', epoch: 5, version: 2 } };
    const out = await applyChangelog(
      [
        record(0, 'x', ledger('x', 3, 7, 'old')), // loses to the held ledger
        record(1, 'x', ledger('x', 5, 2, 'us')), // the held write itself, read back: no conflict
        record(2, 'y', ledger('y', 4, 1, 'us')),
        record(3, 'y', ledger('y', 4, 1, 'late')), // same (epoch, version), another writer: the first in the log wins
      ],
      0n,
      context(held),
    );
    expect(out.changes.has('x')).toBe(false);
    expect(out.changes.get('y')).toMatchObject({ writer: 'us' });
    expect(out.conflicts).toEqual([
      { sliverId: 'x', known: { writer: 'us', epoch: 5, version: 2 }, ignored: { writer: 'old', epoch: 3, version: 7 }, offset: '0' },
      { sliverId: 'y', known: { writer: 'us', epoch: 4, version: 1 }, ignored: { writer: 'late', epoch: 4, version: 1 }, offset: '3' },
    ]);
  });

  it('counts an unreadable or keyless record as applied (the checkpoint moves past it) and changes nothing for it', async () => {
    const out = await applyChangelog([record(10, 'z', Buffer.from('not avro')), record(11, null, ledger('k', 1, 1)), record(12, 'z', ledger('z', 1, 1))], 10n, context());
    expect(out).toMatchObject({ next: 13n, applied: 3, conflicts: [] });
    expect([...out.changes.keys()]).toEqual(['z']);
  });

  it('takes a record this process wrote at that offset as written, without decoding its bytes; another sliver at the offset is decoded', async () => {
    const mine = ledger('m', 2, 3, 'us');
    const written = new Map([['20', mine], ['21', ledger('q', 9, 9, 'us')]]);
    let decoded = 0;
    const counting: Pick<typeof codec, 'decode'> = {
      decode: (kind, bytes) => {
        decoded++;
        return codec.decode(kind, bytes);
      },
    };
    const out = await applyChangelog(
      [record(20, 'm', Buffer.from('bytes never decoded')), record(21, 'r', ledger('r', 1, 1))],
      20n,
      { ...context(), codec: counting, written: (offset: string) => written.get(offset) },
    );
    expect(out.changes.get('m')).toBe(mine);
    expect(out.changes.get('r')).toMatchObject({ sliver_id: 'r', epoch: 1, version: 1 });
    expect(decoded).toBe(1);
    expect(out).toMatchObject({ next: 22n, applied: 2, conflicts: [] });
  });

  it('an own record older than our newer write already held is no conflict (the newer one is later in the log); a foreign one still is', async () => {
    // Our claim (version 1) and answer (version 2) both counted before the reader got to the claim.
    const held = { s: { writer: 'us', epoch: 3, version: 2 } };
    const claimed = ledger('s', 3, 1, 'us');
    const written = new Map([['30', claimed]]);
    const out = await applyChangelog(
      [record(30, 's', Buffer.from('ours, never decoded')), record(31, 's', ledger('s', 2, 9, 'them'))],
      30n,
      { ...context(held), written: (offset: string) => written.get(offset) },
    );
    expect(out.changes.size).toBe(0);
    expect(out.conflicts).toEqual([{ sliverId: 's', known: { writer: 'us', epoch: 3, version: 2 }, ignored: { writer: 'them', epoch: 2, version: 9 }, offset: '31' }]);
  });

  it('leaves `next` at `from` when the batch holds nothing new', async () => {
    const out = await applyChangelog([record(1, 'a', ledger('a', 1, 1))], 2n, context());
    expect(out).toMatchObject({ next: 2n, applied: 0 });
    expect(out.changes.size).toBe(0);
  });
});

describe('partitionsForChild', () => {
  const gaps = (entries: [number, number][]): Map<number, bigint> => new Map(entries.map(([p, g]) => [p, BigInt(g)]));

  it('sends nothing to a child when the whole assignment is under the threshold', () => {
    expect(partitionsForChild(gaps([[0, 10_000], [1, 20_000], [2, 19_999]]), 50_000)).toEqual([]);
  });

  it('sends the largest partitions until less than the threshold is left in-process', () => {
    // 100k in all: 40k (p1) leaves 60k, 30k (p3) leaves 30k < 50k.
    expect(partitionsForChild(gaps([[0, 20_000], [1, 40_000], [2, 10_000], [3, 30_000]]), 50_000)).toEqual([1, 3]);
    // A cold restore at 1M: four partitions of about 250k each, all to the child.
    expect(partitionsForChild(gaps([[0, 250_100], [1, 249_800], [2, 250_400], [3, 249_700]]), 50_000)).toEqual([0, 1, 2, 3]);
  });

  it('with a threshold of 0 sends every partition with something to restore, and never an empty one', () => {
    expect(partitionsForChild(gaps([[0, 5], [1, 0], [2, 1]]), 0)).toEqual([0, 2]);
  });
});
