import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type SliverEvent, type SliverLedger } from '../../../src/codec/index.js';
import { claim, decide, emptyLedger, isExpired, recordAnswer } from '../../../src/state/ledger.js';
import { vmEvent } from '../../helpers/events.js';

// State schema v3: slim ledgers (full replies for the newest answers, digests
// of older ones) and closed slivers whose ledgers expire.
const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const event = (o: Record<string, unknown>): SliverEvent => codec.complete<'event'>(catalog.current('event'), vmEvent({ sliver_id: 's1', ...o } as never));
const ok = (tag: string) => ({ outcome: 'OK', reply: Buffer.from(`reply ${tag}`), ran: true });
const DAY = 86_400_000;
const RETENTION = 7 * DAY;
const NOW = 100 * DAY;

/** A ledger with events e1..en (sequences 1..n) answered OK, one ms apart. */
function answered(n: number, limits = { entries: 64, replies: 4 }): SliverLedger {
  let ledger = emptyLedger('s1');
  for (let i = 1; i <= n; i++) ledger = recordAnswer(ledger, event({ event_id: `e${i}`, sequence: i }), ok(`e${i}`), 'me', i, limits);
  return ledger;
}

describe('slim ledgers', () => {
  it('keeps full replies for the newest ledger_replies answers and digests of older ones, up to ledger_entries in all', () => {
    const ledger = answered(10, { entries: 6, replies: 2 });
    expect(ledger.entries.map((e) => e.event_id)).toEqual(['e9', 'e10']);
    expect(ledger.digests).toEqual([5, 6, 7, 8].map((i) => ({ event_id: `e${i}`, sequence: i, operation: 'REDEEM', outcome: 'OK', finished_at: i })));
  });

  it('a duplicate with its full reply kept is re-published; one kept as a digest gets the digest; a forgotten one falls back to the stale rule', () => {
    const ledger = answered(10, { entries: 6, replies: 2 });
    expect(decide(ledger, event({ event_id: 'e10', sequence: 10 }), 'me', NOW)).toMatchObject({ kind: 'duplicate', entry: { reply: Buffer.from('reply e10') } });
    expect(decide(ledger, event({ event_id: 'e5', sequence: 5 }), 'me', NOW)).toEqual({
      kind: 'duplicate',
      entry: null,
      digest: { event_id: 'e5', sequence: 5, operation: 'REDEEM', outcome: 'OK', finished_at: 5 },
    });
    expect(decide(ledger, event({ event_id: 'e4', sequence: 4 }), 'me', NOW)).toEqual({ kind: 'stale', reason: 'sequence 4 is older than the applied sequence 10: nothing ran' });
  });

  it('answering an event again (e.g. after a takeover) keeps one entry for it, not a digest beside it', () => {
    let ledger = answered(3, { entries: 6, replies: 1 });
    ledger = recordAnswer(ledger, event({ event_id: 'e2', sequence: 2 }), ok('again'), 'me', 9, { entries: 6, replies: 1 });
    expect(ledger.entries.map((e) => e.event_id)).toEqual(['e2']);
    expect(ledger.digests.map((d) => d.event_id)).toEqual(['e1', 'e3']);
  });

  it('ledger_replies is capped by ledger_entries', () => {
    const ledger = answered(5, { entries: 2, replies: 4 });
    expect(ledger.entries.map((e) => e.event_id)).toEqual(['e4', 'e5']);
    expect(ledger.digests).toEqual([]);
  });
});

describe('closed slivers and the ledger retention', () => {
  const close = event({ event_id: 'c', sequence: 5, operation: 'CLOSE' });

  it('a CLOSE answered OK marks the sliver closed; a later successful REDEEM opens it again; a failed CLOSE does not', () => {
    const closed = recordAnswer(answered(2), close, ok('c'), 'me', 1_000, { entries: 64, replies: 4 });
    expect(closed.closed_at).toBe(1_000);
    const failed = recordAnswer(answered(2), close, { ...ok('c'), outcome: 'FAILED' }, 'me', 1_000, { entries: 64, replies: 4 });
    expect(failed.closed_at).toBe(0);
    const reopened = recordAnswer(closed, event({ event_id: 'r', sequence: 6 }), ok('r'), 'me', 2_000, { entries: 64, replies: 4 });
    expect(reopened.closed_at).toBe(0);
    const notRun = recordAnswer(closed, event({ event_id: 'm', sequence: 7, operation: 'MODIFY' }), { ...ok('m'), outcome: 'CANCELLED', ran: false }, 'me', 3_000, { entries: 64, replies: 4 });
    expect(notRun.closed_at).toBe(1_000);
  });

  it('isExpired: closed at least the retention ago, with nothing in flight', () => {
    const closed = recordAnswer(answered(2), close, ok('c'), 'me', NOW, { entries: 64, replies: 4 });
    expect(isExpired(closed, NOW + RETENTION - 1, RETENTION)).toBe(false);
    expect(isExpired(closed, NOW + RETENTION, RETENTION)).toBe(true);
    expect(isExpired(answered(2), NOW + 365 * DAY, RETENTION)).toBe(false);
    const running = claim(closed, event({ event_id: 'r', sequence: 6 }), 'me', NOW + RETENTION, 10_000);
    expect(isExpired(running, NOW + RETENTION + 1, RETENTION)).toBe(false);
  });

  it('an event older than the retention whose sliver has no ledger is STALE (not recorded); a younger one runs', () => {
    const old = event({ event_id: 'x', sequence: 1, timestamp: NOW - RETENTION - 1 });
    expect(decide(undefined, old, 'me', NOW, RETENTION)).toEqual({ kind: 'stale', reason: 'older than the ledger retention (7d): nothing ran', unrecorded: true });
    const young = event({ event_id: 'y', sequence: 1, timestamp: NOW - RETENTION });
    expect(decide(undefined, young, 'me', NOW, RETENTION)).toEqual({ kind: 'run', interrupted: null });
    expect(decide(undefined, old, 'me', NOW)).toEqual({ kind: 'run', interrupted: null }); // no retention given: none applies
  });

  it('an expired ledger (not yet deleted) answers old events as if it were gone, but still re-publishes a duplicate it holds', () => {
    const closed = recordAnswer(answered(2), close, ok('c'), 'me', NOW - RETENTION, { entries: 64, replies: 4 });
    const oldRedeem = event({ event_id: 'x', sequence: 9, timestamp: NOW - RETENTION - 1 });
    expect(decide(closed, oldRedeem, 'me', NOW, RETENTION)).toEqual({ kind: 'stale', reason: 'older than the ledger retention (7d): nothing ran' });
    expect(decide(closed, { ...close, timestamp: 0 }, 'me', NOW, RETENTION)).toMatchObject({ kind: 'duplicate', entry: { event_id: 'c' } });
    const freshRedeem = event({ event_id: 'z', sequence: 9, timestamp: NOW });
    expect(decide(closed, freshRedeem, 'me', NOW, RETENTION)).toEqual({ kind: 'run', interrupted: null });
  });

  it('an old event of an open sliver is decided by its ledger as before', () => {
    const open = answered(2);
    expect(decide(open, event({ event_id: 'x', sequence: 3, timestamp: 0 }), 'me', NOW, RETENTION)).toEqual({ kind: 'run', interrupted: null });
  });
});

describe('state schema v3 reads v1 and v2 records', () => {
  const reply = Buffer.from('stored reply');
  const entry = { event_id: 'e1', sequence: 1, operation: 'REDEEM', outcome: 'OK', finished_at: 5, reply };
  const flight = { event_id: 'e2', sequence: 2, operation: 'MODIFY', owner: 'other', started_at: NOW - 1_000 };
  const v1Record = { sliver_id: 's1', version: 3, applied_sequence: 1, entries: [entry], in_flight: null, updated_at: 5 };
  const v2Record = { ...v1Record, epoch: 4, writer: 'other', in_flight: { ...flight, expires_at: NOW + 30_000 } };
  const probes = {
    duplicate: event({ event_id: 'e1', sequence: 1, timestamp: 0 }),
    stale: event({ event_id: 'e0', sequence: 0, timestamp: 0 }),
    fresh: event({ event_id: 'e3', sequence: 3 }),
  };

  async function readWithV3(version: number, record: object): Promise<SliverLedger> {
    const writer = catalog.versions('state').find((v) => v.version === version)!;
    const { value } = await codec.decode('state', codec.encode('state', record as never, writer));
    expect(catalog.current('state').version).toBeGreaterThanOrEqual(3);
    return value;
  }

  it('a v1 record: no digests, open, and the decisions it gave before', async () => {
    const ledger = await readWithV3(1, { ...v1Record, in_flight: flight });
    expect(ledger).toMatchObject({ digests: [], closed_at: 0, epoch: 0, entries: [{ event_id: 'e1', reply }] });
    expect(decide(ledger, probes.duplicate, 'me', NOW, RETENTION)).toEqual({ kind: 'duplicate', entry });
    // A v1 in-flight mark has no expiry: it holds 60 s after it started, as before.
    expect(decide(ledger, probes.fresh, 'me', NOW, RETENTION)).toMatchObject({ kind: 'wait', expiresAt: NOW - 1_000 + 60_000 });
    const settled = await readWithV3(1, v1Record);
    expect(decide(settled, probes.stale, 'me', NOW, RETENTION)).toEqual({ kind: 'stale', reason: 'sequence 0 is older than the applied sequence 1: nothing ran' });
    expect(decide(settled, probes.fresh, 'me', NOW, RETENTION)).toEqual({ kind: 'run', interrupted: null });
  });

  it('a v2 record: no digests, open, and the decisions it gave before', async () => {
    const ledger = await readWithV3(2, v2Record);
    expect(ledger).toMatchObject({ digests: [], closed_at: 0, epoch: 4, writer: 'other' });
    expect(decide(ledger, probes.duplicate, 'me', NOW, RETENTION)).toEqual({ kind: 'duplicate', entry });
    expect(decide(ledger, probes.fresh, 'me', NOW, RETENTION)).toMatchObject({ kind: 'wait', expiresAt: NOW + 30_000 });
    expect(decide(ledger, probes.fresh, 'me', NOW + 30_000, RETENTION)).toMatchObject({ kind: 'run', interrupted: { owner: 'other' } });
    const settled = await readWithV3(2, { ...v2Record, in_flight: null });
    expect(decide(settled, probes.stale, 'me', NOW, RETENTION)).toEqual({ kind: 'stale', reason: 'sequence 0 is older than the applied sequence 1: nothing ran' });
  });

  it('a v2 ledger with 64 full replies slims down at its next answer', async () => {
    const entries = Array.from({ length: 64 }, (_, i) => ({ ...entry, event_id: `e${i}`, sequence: i }));
    const ledger = await readWithV3(2, { ...v2Record, entries, applied_sequence: 63, in_flight: null });
    const next = recordAnswer(ledger, event({ event_id: 'e64', sequence: 64 }), ok('e64'), 'me', NOW, { entries: 64, replies: 4 });
    expect(next.entries.map((e) => e.event_id)).toEqual(['e61', 'e62', 'e63', 'e64']);
    expect(next.digests).toHaveLength(60);
    expect(next.digests[0]).toEqual({ event_id: 'e1', sequence: 1, operation: 'REDEEM', outcome: 'OK', finished_at: 5 });
  });
});
