import { describe, expect, it } from 'vitest';
import { describeOrphan, findOrphans, orphanKey, owns } from '../../../src/audit/compare.js';
import { FirstSeen } from '../../../src/audit/first-seen.js';
import { ownedAgainst } from '../../../src/audit/repair-guard.js';
import type { Listed } from '../../../src/audit/types.js';
import type { SliverLedger } from '../../../src/codec/types.js';
import { emptyLedger } from '../../../src/state/ledger.js';

const vm = (name: string, sliverId: string | null): Listed => ({
  handler: 'vm',
  object: { name, sliverId, resourceType: 'VM', createdAt: null, record: { instance_name: name }, close: null },
});

function ledger(sliverId: string, patch: Partial<SliverLedger> = {}): SliverLedger {
  const answered = { event_id: 'e1', sequence: 1, operation: 'REDEEM', outcome: 'OK', finished_at: 1, reply: Buffer.alloc(0) };
  return { ...emptyLedger(sliverId), applied_sequence: 1, entries: [answered], ...patch };
}

const inFlight = (eventId: string) => ({ event_id: eventId, sequence: 2, operation: 'CLOSE', owner: 'i1', started_at: 1, expires_at: 2 });

describe('orphan comparison', () => {
  it('reports what no ledger owns: no ledger, a closed ledger, or no sliver at all', () => {
    const ledgers = new Map<string, SliverLedger>([
      ['open', ledger('open')],
      ['closed', ledger('closed', { closed_at: Date.parse('2026-01-02T00:00:00Z') })],
    ]);
    const orphans = findOrphans([vm('open-a', 'open'), vm('closed-a', 'closed'), vm('gone-a', 'gone'), vm('stray', null)], (id) => ledgers.get(id));
    expect(orphans.map((o) => [o.object.name, o.reason, o.key])).toEqual([
      ['closed-a', 'closed', 'closed'],
      ['gone-a', 'no-ledger', 'gone'],
      ['stray', 'no-sliver', 'VM:stray'],
    ]);
    expect(describeOrphan(orphans[0]!)).toContain('closed at 2026-01-02T00:00:00.000Z');
    expect(describeOrphan(orphans[2]!)).toBe('VM stray exists on the substrate and names no sliver');
  });

  it('never reports a sliver with an operation in flight, even a closed one being re-created', () => {
    const reopening = ledger('s', { closed_at: 5, in_flight: inFlight('redeem-2') });
    expect(owns(reopening)).toBe(true);
    expect(findOrphans([vm('s-a', 's')], () => reopening)).toEqual([]);
  });

  it('counts a ledger that holds only orphan repairs as owning nothing, and any AM answer as owning', () => {
    const repairOnly = ledger('s', { entries: [{ event_id: 'amh-orphan-repair:x', sequence: 0, operation: 'CLOSE', outcome: 'FAILED', finished_at: 1, reply: Buffer.alloc(0) }] });
    expect(owns(repairOnly)).toBe(false);
    expect(owns(ledger('s', { digests: [{ event_id: 'am-1', sequence: 0, operation: 'REDEEM', outcome: 'FAILED', finished_at: 1 }], entries: repairOnly.entries }))).toBe(true);
    expect(owns(undefined)).toBe(false);
  });

  it('audits only the keys in scope', () => {
    const scope = (key: string) => key === 'mine';
    expect(findOrphans([vm('a', 'mine'), vm('b', 'theirs')], () => undefined, scope).map((o) => o.object.name)).toEqual(['a']);
    expect(orphanKey(vm('x', null))).toBe('VM:x');
  });

  it('guards a repair against any ledger but its own in-flight mark', () => {
    expect(ownedAgainst(undefined, 'r1')).toBe(false);
    expect(ownedAgainst(ledger('s', { closed_at: 5 }), 'r1')).toBe(false);
    expect(ownedAgainst(ledger('s', { closed_at: 5, in_flight: inFlight('r1') }), 'r1')).toBe(false);
    expect(ownedAgainst(ledger('s', { closed_at: 5, in_flight: inFlight('redeem') }), 'r1')).toBe(true);
    expect(ownedAgainst(ledger('s'), 'r1')).toBe(true);
  });
});

describe('FirstSeen', () => {
  it('keeps the first time an orphan was seen across passes and forgets one that went away', () => {
    const seen = new FirstSeen();
    expect([...seen.observe(['a', 'b'], 100)]).toEqual([['a', 100], ['b', 100]]);
    expect([...seen.observe(['a'], 200)]).toEqual([['a', 100]]);
    expect([...seen.observe(['a', 'b'], 300)]).toEqual([['a', 100], ['b', 300]]);
    expect(seen.size).toBe(2);
  });
});
