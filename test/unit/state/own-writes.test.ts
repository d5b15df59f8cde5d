import { describe, expect, it } from 'vitest';
import { emptyLedger } from '../../../src/state/ledger.js';
import { OwnWrites } from '../../../src/state/own-writes.js';

describe('own writes not read back yet', () => {
  const record = (id: string) => ({ ...emptyLedger(id), epoch: 1, version: 1, writer: 'me' });

  it('covers a range only when every offset in it is one of ours, on that partition', () => {
    const own = new OwnWrites();
    for (const offset of [10n, 11n, 12n, 14n]) own.remember(0, offset, 10n, record(`s-${offset}`));
    expect(own.covers(0, 10n, 10n)).toBe(true); // nothing between the reader and the record
    expect(own.covers(0, 10n, 13n)).toBe(true); // 10, 11, 12 are ours
    expect(own.covers(0, 10n, 14n)).toBe(false); // 13 is not: someone else's, or ours with no known offset
    expect(own.covers(0, 14n, 15n)).toBe(true);
    expect(own.covers(1, 10n, 11n)).toBe(false); // another partition
    expect(own.covers(1, 5n, 5n)).toBe(true);
  });

  it('forgets what the reader passed, so a later range is judged on what is left', () => {
    const own = new OwnWrites();
    for (const offset of [20n, 21n, 22n]) own.remember(2, offset, 20n, record(`s-${offset}`));
    own.applied(2, ['20'], 21n);
    expect(own.covers(2, 20n, 22n)).toBe(false);
    expect(own.covers(2, 21n, 23n)).toBe(true);
    own.drop(2);
    expect(own.covers(2, 21n, 22n)).toBe(false);
  });

  it('does not remember what the reader already passed, and gives up past maxGap', () => {
    const own = new OwnWrites();
    own.remember(0, 3n, 5n, record('old'));
    expect(own.covers(0, 3n, 4n)).toBe(false);
    for (let o = 0n; o < 10n; o++) own.remember(0, 100n + o, 100n, record(`s-${o}`));
    expect(own.covers(0, 100n, 110n)).toBe(true);
    expect(own.covers(0, 100n, 110n, 5)).toBe(false);
  });
});
