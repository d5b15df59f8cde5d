import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type SliverEvent, type SliverLedger } from '../../../src/codec/index.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { LedgerGate } from '../../../src/pipeline/02-gate.js';
import { buildResult } from '../../../src/results/builder.js';
import { appliedReply, emptyLedger, isActive, recordAnswer } from '../../../src/state/ledger.js';
import { MemoryLedgerStore } from '../../../src/state/store.js';
import { vmEvent } from '../../helpers/events.js';

// State schema v4: the ledger keeps the last applied desired state (the event of the last REDEEM or MODIFY
// answered OK and its reply), which the reconciler probes against.
const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const event = (o: Record<string, unknown>): SliverEvent => codec.complete<'event'>(catalog.current('event'), vmEvent({ sliver_id: 's1', ...o } as never));
const LIMITS = { entries: 64, replies: 4 };
const answer = (outcome: string, tag: string, ran = true) => ({ outcome, reply: Buffer.from(`reply ${tag}`), ran, event: Buffer.from(`event ${tag}`) });

describe('the applied state', () => {
  const redeem = event({ event_id: 'r', sequence: 1 });
  const modify = event({ event_id: 'm', sequence: 2, operation: 'MODIFY' });
  const close = event({ event_id: 'c', sequence: 3, operation: 'CLOSE' });

  it('is the last REDEEM or MODIFY answered OK, and is cleared by a CLOSE answered OK', () => {
    const created = recordAnswer(emptyLedger('s1'), redeem, answer('OK', 'r'), 'me', 10, LIMITS);
    // The reply is stored once: in its answer's entry while that is kept in full.
    expect(created.applied).toEqual({ event_id: 'r', sequence: 1, operation: 'REDEEM', applied_at: 10, event: Buffer.from('event r'), reply: null });
    expect(appliedReply(created)).toEqual(Buffer.from('reply r'));
    expect(isActive(created)).toBe(true);
    const modified = recordAnswer(created, modify, answer('OK', 'm'), 'me', 20, LIMITS);
    expect(modified.applied).toMatchObject({ event_id: 'm', operation: 'MODIFY', event: Buffer.from('event m') });
    const closed = recordAnswer(modified, close, answer('OK', 'c'), 'me', 30, LIMITS);
    expect(closed.applied).toBeNull();
    expect(isActive(closed)).toBe(false);
  });

  it("keeps its reply itself once its answer's entry is only a digest", () => {
    let ledger = recordAnswer(emptyLedger('s1'), redeem, answer('OK', 'r'), 'me', 10, { entries: 8, replies: 1 });
    ledger = recordAnswer(ledger, event({ event_id: 'p', sequence: 2, operation: 'POA' }), answer('OK', 'p'), 'me', 11, { entries: 8, replies: 1 });
    expect(ledger.entries.map((e) => e.event_id)).toEqual(['p']);
    expect(ledger.applied).toMatchObject({ event_id: 'r', reply: Buffer.from('reply r') });
    expect(appliedReply(ledger)).toEqual(Buffer.from('reply r'));
  });

  it('stays what it was after a failed, rejected or not-run answer, a failed CLOSE, and a PROBE', () => {
    const created = recordAnswer(emptyLedger('s1'), redeem, answer('OK', 'r'), 'me', 10, LIMITS);
    for (const [e, a] of [
      [modify, answer('FAILED', 'm')],
      [modify, answer('REJECTED', 'm')],
      [modify, answer('CANCELLED', 'm', false)],
      [close, answer('FAILED', 'c')],
      [event({ event_id: 'p', sequence: 4, operation: 'PROBE' }), answer('OK', 'p')],
    ] as const) {
      expect(recordAnswer(created, e, a, 'me', 40, LIMITS).applied).toEqual(created.applied);
    }
    expect(recordAnswer(emptyLedger('s1'), redeem, answer('FAILED', 'r'), 'me', 10, LIMITS).applied).toBeNull();
  });

  it('survives an encode/decode round trip with v4', async () => {
    const created = recordAnswer(emptyLedger('s1'), redeem, answer('OK', 'r'), 'me', 10, LIMITS);
    const { value } = await codec.decode('state', codec.encode('state', created));
    expect(value.applied).toEqual(created.applied);
  });
});

describe('state schema v4 reads v3 records', () => {
  it('a v3 record has no applied state (not reconciled until its next REDEEM or MODIFY answered OK), and keeps the rest', async () => {
    const v3 = catalog.versions('state').find((v) => v.version === 3)!;
    expect(catalog.current('state').version).toBe(4);
    const record = { ...emptyLedger('s1'), applied_sequence: 1, version: 2, entries: [{ event_id: 'r', sequence: 1, operation: 'REDEEM', outcome: 'OK', finished_at: 5, reply: Buffer.from('x') }] };
    const { applied: _none, ...v3Record } = record;
    const { value } = await codec.decode('state', codec.encode('state', v3Record as never, v3));
    expect(value).toMatchObject({ applied: null, applied_sequence: 1, entries: [{ event_id: 'r' }] });
    expect(isActive(value)).toBe(false);
    const next = recordAnswer(value, event({ event_id: 'm', sequence: 2, operation: 'MODIFY' }), answer('OK', 'm'), 'me', 9, LIMITS);
    expect(isActive(next)).toBe(true);
  });
});

describe('the applied state within consumer.max_ledger_bytes', () => {
  function gate(maxRecordBytes: number) {
    const store = new MemoryLedgerStore();
    const g = new LedgerGate({ store, codec, instanceId: 'me', keep: 64, replies: 4, retentionMs: 7 * 86_400_000, leaseTtlMs: 10_000, maxReplyBytes: 256 * 1024, maxRecordBytes, logger: silentLogger() });
    return { store, gate: g };
  }
  const big = (i: number, label: string) => event({ event_id: `e${i}`, sequence: i, operation: i === 1 ? 'REDEEM' : 'MODIFY', node_sliver: { name: 'n', labels: { pad: label } } });
  const ok = (e: SliverEvent) => buildResult(e, { outcome: 'OK', message: 'x'.repeat(2_000), startedAt: 0, finishedAt: 1 });

  it('is never digested away: older answers go first', async () => {
    const { store, gate: g } = gate(12_000);
    for (let i = 1; i <= 6; i++) await g.record(big(i, 'y'.repeat(1_500)), ok(big(i, '')), { ran: true });
    const ledger = store.get('s1') as SliverLedger;
    expect(codec.encode('state', ledger).length).toBeLessThanOrEqual(12_000);
    expect(ledger.entries.length).toBeLessThan(6);
    expect(ledger.applied).toMatchObject({ event_id: 'e6' });
    expect(ledger.applied?.event).not.toBeNull();
    expect(appliedReply(ledger)).not.toBeNull();
    const { value: applied } = await codec.decode('event', ledger.applied!.event!);
    expect(applied.node_sliver?.labels.pad).toBe('y'.repeat(1_500));
  });

  it('a record that cannot fit drops the applied reply, then the applied event', async () => {
    const small = gate(8_192);
    await small.gate.record(big(1, 'z'.repeat(2_000)), ok(big(1, '')), { ran: true });
    // A later answer with a large reply pushes the create's entry out: its reply would now be stored in `applied`.
    const poa = event({ event_id: 'p', sequence: 2, operation: 'POA' });
    await small.gate.record(poa, buildResult(poa, { outcome: 'OK', message: 'p'.repeat(5_000), startedAt: 0, finishedAt: 1 }), { ran: true });
    const replyDropped = small.store.get('s1') as SliverLedger;
    expect(replyDropped.entries.map((e) => e.event_id)).toEqual(['p']);
    expect(replyDropped.applied).toMatchObject({ event_id: 'e1', reply: null });
    expect(appliedReply(replyDropped)).toBeNull();
    expect(replyDropped.applied?.event).not.toBeNull();
    const tiny = gate(8_192);
    await tiny.gate.record(big(1, 'z'.repeat(9_000)), ok(big(1, '')), { ran: true });
    expect((tiny.store.get('s1') as SliverLedger).applied).toMatchObject({ event_id: 'e1', event: null, reply: null });
  });
});
