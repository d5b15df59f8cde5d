import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type SliverEvent } from '../../../src/codec/index.js';
import { LEGACY_LEASE_MS, claim, decide, emptyLedger, recordAnswer, release, renew, sameWrite, supersedes } from '../../../src/state/ledger.js';
import { vmEvent } from '../../helpers/events.js';

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const event = (o: Record<string, unknown>): SliverEvent => codec.complete<'event'>(catalog.current('event'), vmEvent({ sliver_id: 's1', ...o } as never));
const reply = Buffer.from('reply');
const ok = { outcome: 'OK', reply, ran: true };
const TTL = 10_000;
const LIMITS = { entries: 64, replies: 4 };

describe('ledger decisions', () => {
  const create = event({ event_id: 'e1', sequence: 1 });
  const close = event({ event_id: 'e2', sequence: 2, operation: 'CLOSE' });

  it('runs what it has never seen', () => {
    expect(decide(undefined, create, 'me', 0)).toEqual({ kind: 'run', interrupted: null });
  });

  it('re-publishes an answered event and answers an older sequence STALE', () => {
    const ledger = recordAnswer(emptyLedger('s1'), close, ok, 'me', 10, LIMITS);
    expect(decide(ledger, close, 'me', 20)).toMatchObject({ kind: 'duplicate', entry: { event_id: 'e2', reply } });
    expect(decide(ledger, create, 'me', 20)).toEqual({ kind: 'stale', reason: 'sequence 1 is older than the applied sequence 2: nothing ran' });
  });

  it('keeps the newest answers only', () => {
    let ledger = recordAnswer(emptyLedger('s1'), create, ok, 'me', 10, { entries: 1, replies: 1 });
    ledger = recordAnswer(ledger, close, ok, 'me', 11, { entries: 1, replies: 1 });
    expect(ledger.entries.map((e) => e.event_id)).toEqual(['e2']);
  });

  it('a REJECTED or not-run answer does not move the applied sequence', () => {
    expect(recordAnswer(emptyLedger('s1'), close, { outcome: 'REJECTED', reply, ran: true }, 'me', 10, LIMITS).applied_sequence).toBe(-1);
    expect(recordAnswer(emptyLedger('s1'), close, { outcome: 'CANCELLED', reply, ran: false }, 'me', 10, LIMITS).applied_sequence).toBe(-1);
  });

  it('waits for another owner while its lease is live, and takes over once it expired (finding 6: liveness by lease)', () => {
    const held = claim(emptyLedger('s1'), create, 'other', 1_000, TTL);
    expect(decide(held, close, 'me', 1_000 + TTL - 1)).toMatchObject({ kind: 'wait', expiresAt: 1_000 + TTL, inFlight: { owner: 'other' } });
    expect(decide(held, close, 'me', 1_000 + TTL)).toMatchObject({ kind: 'run', interrupted: { owner: 'other', event_id: 'e1' } });
  });

  it('a lease renewed later expires later', () => {
    const held = renew(claim(emptyLedger('s1'), create, 'other', 1_000, TTL), 8_000, TTL);
    expect(decide(held, close, 'me', 1_000 + TTL + 1).kind).toBe('wait');
    expect(held.epoch).toBe(1);
  });

  it('marks written before leases existed hold for a fixed time after they started', () => {
    const legacy = { ...claim(emptyLedger('s1'), create, 'old', 1_000, TTL), in_flight: { ...claim(emptyLedger('s1'), create, 'old', 1_000, TTL).in_flight!, expires_at: 0 } };
    expect(decide(legacy, close, 'me', 1_000 + LEGACY_LEASE_MS - 1).kind).toBe('wait');
    expect(decide(legacy, close, 'me', 1_000 + LEGACY_LEASE_MS).kind).toBe('run');
  });

  it('recording the answer clears the in-flight mark', () => {
    const running = claim(emptyLedger('s1'), create, 'me', 5, TTL);
    const done = recordAnswer(running, create, ok, 'me', 6, LIMITS);
    expect(done).toMatchObject({ version: 2, epoch: 1, in_flight: null, applied_sequence: 1, writer: 'me' });
    expect(release(running, 'me', 7)).toMatchObject({ in_flight: null, entries: [], applied_sequence: -1 });
  });
});

describe('fencing (finding 5 and 8)', () => {
  const create = event({ event_id: 'e1', sequence: 1 });

  it('a claim starts a new epoch, so every write of the previous owner is superseded whatever its version', () => {
    const mine = claim(emptyLedger('s1'), create, 'old', 0, TTL);
    const oldRenewsALot = { ...renew(renew(renew(mine, 1, TTL), 2, TTL), 3, TTL) };
    const takenOver = claim(mine, create, 'new', 20_000, TTL);
    expect(takenOver.epoch).toBe(2);
    expect(supersedes(takenOver, oldRenewsALot)).toBe(true);
    expect(supersedes(oldRenewsALot, takenOver)).toBe(false);
  });

  it('an equal (epoch, version) never replaces what a reader holds: the first record in the log wins', () => {
    const base = claim(emptyLedger('s1'), create, 'a', 0, TTL);
    const a = recordAnswer(base, create, ok, 'a', 1, LIMITS);
    const b = { ...recordAnswer(base, create, { ...ok, outcome: 'FAILED' }, 'b', 1, LIMITS) };
    expect(supersedes(b, a)).toBe(false);
    expect(sameWrite(a, a)).toBe(true);
    expect(sameWrite(a, b)).toBe(false);
  });

  it('the current state schema reads v1 records (no epoch, writer or expiry) with their defaults', () => {
    const v1 = catalog.versions('state').find((v) => v.version === 1)!;
    const old = { sliver_id: 's1', version: 3, applied_sequence: 1, entries: [], in_flight: { event_id: 'e1', sequence: 1, operation: 'REDEEM', owner: 'x', started_at: 5 }, updated_at: 5 };
    const bytes = codec.encode('state', old as never, v1);
    return codec.decode('state', bytes).then(({ value }) => {
      expect(value).toMatchObject({ epoch: 0, writer: '', in_flight: { expires_at: 0, owner: 'x' } });
    });
  });
});
