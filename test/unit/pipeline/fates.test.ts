import { getEventListeners } from 'node:events';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { frameConfluent } from '../../../src/codec/framing.js';
import { FatalError, TransientError } from '../../../src/errors/index.js';
import { buildResult } from '../../../src/results/builder.js';
import { claim, emptyLedger, recordAnswer } from '../../../src/state/ledger.js';
import { catalog, pipelineHarness, tick } from '../../helpers/pipeline.js';

// One test per fate of a message (README "Where every message ends").
describe('fates of a message', () => {
  it('answered: the event runs once, its answer is recorded before the reply, and a redelivery re-publishes it', async () => {
    const h = pipelineHarness();
    const e = h.event();
    expect(await h.handle(e)).toBe('answered');
    expect(h.store.get(e.sliver_id)?.entries.map((x) => x.event_id)).toEqual([e.event_id]);
    expect(await h.handle(e)).toBe('answered');
    expect(h.executed).toHaveLength(1);
    expect(h.replyValues[0]).toEqual(h.replyValues[1]);
  });

  it('dead-lettered: undecodable bytes go to the dead-letter topic with the reason', async () => {
    const h = pipelineHarness();
    expect(await h.handle(Buffer.from('not avro'))).toBe('dead-lettered');
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0]?.reason).toMatch(/.+/);
  });

  it('fatal: more dead letters than the limit stop the service instead of dead-lettering a topic', async () => {
    const h = pipelineHarness({ deadLetterMax: 1 });
    await h.handle(Buffer.from('bad 1'));
    await expect(h.handle(Buffer.from('bad 2'))).rejects.toBeInstanceOf(FatalError);
  });

  it('fatal, not silent (finding 1): a ledger write that fails for good stops the service with the reason, and memory stays as the log (finding 8)', async () => {
    const h = pipelineHarness();
    h.store.failWrites = new Error('TOPIC_AUTHORIZATION_FAILED');
    const e = h.event();
    await expect(h.handle(e)).rejects.toThrow(/TOPIC_AUTHORIZATION_FAILED/);
    expect(h.store.get(e.sliver_id)).toBeUndefined();
    expect(h.replies).toEqual([]);
  });

  it('transient: a ledger write that fails for a while is retried while the message waits; the operation ran once', async () => {
    const h = pipelineHarness();
    const e = h.event();
    let failures = 2;
    const original = h.store.update.bind(h.store);
    h.store.update = (id, next) => (failures-- > 0 && h.executed.length > 0 ? Promise.reject(new TransientError('not leader')) : original(id, next));
    expect(await h.handle(e)).toBe('answered');
    expect(h.executed).toHaveLength(1);
    expect(h.replies.map((r) => r.outcome)).toEqual(['OK']);
  });

  it('transient: a reply publish that fails for a while is retried, then published once', async () => {
    const h = pipelineHarness({ replyFailures: [new kafkajs.KafkaJSConnectionError('connection reset'), new kafkajs.KafkaJSRequestTimeoutError('timed out')] });
    expect(await h.handle(h.event())).toBe('answered');
    expect(h.replies).toHaveLength(1);
  });

  it('transient, not dead-lettered (finding 2): while the schema registry is down a Confluent-framed event waits, then runs', async () => {
    let down = 2;
    const schema = catalog.current('event');
    const h = pipelineHarness({
      registry: {
        schemaById: async () => {
          if (down-- > 0) throw new TransientError('schema registry unreachable');
          return JSON.stringify(schema.type.schema());
        },
      },
    });
    const e = h.event();
    const body = schema.type.toBuffer(e);
    expect(await h.handle(frameConfluent(7, body))).toBe('answered');
    expect(h.deadLetters).toEqual([]);
    expect(h.executed.map((x) => x.event_id)).toEqual([e.event_id]);
  });

  it('rejected (finding 1): an event over max_event_bytes is answered REJECTED without running, and its reply is cut down to fit', async () => {
    const h = pipelineHarness({ maxEventBytes: 64 * 1024, maxReplyBytes: 16 * 1024 });
    const e = h.event({ resource_type: 'X'.repeat(600 * 1024) });
    expect(await h.handle(e)).toBe('answered');
    expect(h.executed).toEqual([]);
    expect(h.replies[0]).toMatchObject({ outcome: 'REJECTED', error_code: 'EVENT_TOO_LARGE' });
    expect(h.replies[0]?.message).toMatch(/over the limit of 65536 bytes \(consumer.max_event_bytes\).*reply cut down/);
    expect(h.replyValues[0]!.length).toBeLessThanOrEqual(16 * 1024);
    // The next event of the same sliver is answered as usual.
    expect(await h.handle(h.event({ sliver_id: e.sliver_id, sequence: 2 }))).toBe('answered');
    expect(h.replies[1]?.outcome).toBe('OK');
  });

  it('left for the next run: an event that had not started when the shutdown grace ran out starts nothing and is not answered', async () => {
    const h = pipelineHarness();
    h.cancel.abort(new Error('shutdown'));
    await expect(h.handle(h.event())).rejects.toMatchObject({ code: 'ABANDONED' });
    expect(h.executed).toEqual([]);
    expect(h.replies).toEqual([]);
  });

  it('revoked: an event whose partition was revoked before it ran starts nothing and is left to the new owner', async () => {
    const h = pipelineHarness();
    const owned = new AbortController();
    owned.abort(new Error('revoked'));
    expect(await h.handle(h.event(), owned.signal)).toBe('revoked');
    expect(h.executed).toEqual([]);
    expect(h.replies).toEqual([]);
  });
});

describe('slim ledgers and the ledger retention (issue 8)', () => {
  const DAY = 86_400_000;

  it('answered from a digest: an older duplicate whose full reply is no longer kept gets a reply rebuilt from its outcome, and nothing runs', async () => {
    const h = pipelineHarness({ ledgerReplies: 1 });
    const first = h.event({ sliver_id: 'S', sequence: 1 });
    const second = h.event({ sliver_id: 'S', sequence: 2, operation: 'MODIFY' });
    await h.handle(first);
    await h.handle(second);
    const finishedAt = h.store.get('S')!.digests[0]!.finished_at;
    expect(await h.handle(first)).toBe('answered');
    expect(await h.handle(second)).toBe('answered');
    expect(h.executed).toHaveLength(2);
    expect(h.replies[2]).toMatchObject({
      event_id: first.event_id,
      outcome: 'OK',
      sliver: null,
      attempts: 0,
      message: `already answered OK at ${new Date(finishedAt).toISOString()}; the full reply is no longer kept (consumer.ledger_replies)`,
    });
    expect(h.replyValues[3]).toEqual(h.replyValues[1]); // the newest answer is still re-published byte for byte
  });

  it('a ledger over max_ledger_bytes turns its oldest full replies into digests first, then drops its oldest digests', async () => {
    const big = 'x'.repeat(3_000);
    const h = pipelineHarness({ maxLedgerBytes: 8_192, execute: async (event) => buildResult(event, { outcome: 'OK', message: big, startedAt: 1, finishedAt: 2 }) });
    const events = [1, 2, 3, 4].map((sequence) => h.event({ sliver_id: 'S', sequence, operation: sequence === 1 ? 'REDEEM' : 'MODIFY' }));
    for (const e of events) await h.handle(e);
    const ledger = h.store.get('S')!;
    expect(ledger.entries.map((e) => e.event_id)).toEqual(events.slice(2).map((e) => e.event_id));
    expect(ledger.digests.map((d) => d.event_id)).toEqual(events.slice(0, 2).map((e) => e.event_id));

    // One full reply nearly fills the record: the oldest digests go, the newest answers stay.
    const huge = 'x'.repeat(7_000);
    const h2 = pipelineHarness({ maxLedgerBytes: 8_192, execute: async (event) => buildResult(event, { outcome: 'OK', message: huge, startedAt: 1, finishedAt: 2 }) });
    const many = Array.from({ length: 30 }, (_, i) => h2.event({ sliver_id: 'S', sequence: i + 1, operation: i === 0 ? 'REDEEM' : 'MODIFY' }));
    for (const e of many) await h2.handle(e);
    const slim = h2.store.get('S')!;
    expect(slim.entries.map((e) => e.event_id)).toEqual([many[29]!.event_id]);
    expect(slim.digests.length).toBeGreaterThan(0);
    expect(slim.digests.length).toBeLessThan(29);
    expect(slim.digests.at(-1)?.event_id).toBe(many[28]!.event_id);
    expect(h2.codec.encode('state', slim).length).toBeLessThanOrEqual(8_192);
  });

  it('stale by retention: a REDEEM older than consumer.ledger_retention whose sliver has no ledger runs nothing and is answered STALE saying why; a fresh one runs', async () => {
    const h = pipelineHarness({ retentionMs: 7 * DAY });
    const old = h.event({ sliver_id: 'GONE', timestamp: Date.now() - 8 * DAY });
    expect(await h.handle(old)).toBe('answered');
    expect(h.executed).toHaveLength(0);
    expect(h.replies[0]).toMatchObject({ event_id: old.event_id, outcome: 'STALE', message: 'older than the ledger retention (7d): nothing ran' });
    expect(h.store.get('GONE')).toBeUndefined(); // no ledger re-created for a sliver whose ledger is gone
    const fresh = h.event({ sliver_id: 'NEW', timestamp: Date.now() - 6 * DAY });
    await h.handle(fresh);
    expect(h.executed.map((e) => e.event_id)).toEqual([fresh.event_id]);
    expect(h.replies[1]).toMatchObject({ outcome: 'OK' });
  });
});

describe('ownership and leases', () => {
  it('waits for another owner\'s live lease without a slot (finding 10), then re-publishes its answer', async () => {
    const h = pipelineHarness({ concurrency: 1, leaseTtlMs: 10_000 });
    const a = h.event({ sliver_id: 'A' });
    h.store.apply(claim(emptyLedger('A'), a, 'other', Date.now(), 60_000));
    const waiting = h.handle(a);
    // Ten waits must not stall the instance: B still runs with the single slot.
    expect(await Promise.race([h.handle(h.event({ sliver_id: 'B' })), tick(2000).then(() => 'stalled')])).toBe('answered');
    // The other owner answers A; the waiting event sees it and re-publishes, running nothing.
    const held = h.store.get('A')!;
    const reply = h.codec.encode('result', buildResult(a, { outcome: 'OK', message: 'by other', startedAt: 1, finishedAt: 2 }));
    h.store.apply(recordAnswer(held, a, { outcome: 'OK', reply, ran: true }, 'other', Date.now(), { entries: 64, replies: 4 }));
    expect(await waiting).toBe('answered');
    expect(h.executed.map((e) => e.sliver_id)).toEqual(['B']);
    expect(h.replies.find((r) => r.sliver_id === 'A')?.message).toBe('by other');
  });

  it('takes over a sliver whose owner\'s lease expired and reconciles it first', async () => {
    const h = pipelineHarness();
    const a = h.event({ sliver_id: 'A' });
    h.store.apply(claim(emptyLedger('A'), a, 'dead', Date.now() - 20_000, 10_000));
    expect(await h.handle(a)).toBe('answered');
    expect(h.executed.map((e) => e.operation)).toEqual(['PROBE', 'REDEEM']);
    expect(h.store.get('A')).toMatchObject({ epoch: 2, in_flight: null, writer: 'me' });
  });

  it('a CANCELLED answer given while waiting at shutdown is recorded (finding 12)', async () => {
    const h = pipelineHarness();
    const a = h.event({ sliver_id: 'A' });
    h.store.apply(claim(emptyLedger('A'), h.event({ sliver_id: 'A' }), 'other', Date.now(), 60_000));
    const waiting = h.handle(a);
    await tick(50);
    h.cancel.abort(new Error('shutdown'));
    expect(await waiting).toBe('answered');
    expect(h.replies[0]).toMatchObject({ outcome: 'CANCELLED' });
    expect(h.store.get('A')?.entries.map((e) => [e.event_id, e.outcome])).toEqual([[a.event_id, 'CANCELLED']]);
  });

  it('a lease taken over mid-run (fenced by a higher epoch) is lost: this instance does not record, and re-publishes the new owner\'s answer', async () => {
    let h: ReturnType<typeof pipelineHarness>;
    let sawLost = false;
    h = pipelineHarness({
      leaseTtlMs: 300,
      execute: async (event, opts) => {
        // Another owner claims the sliver (a higher epoch) while we run, then answers it.
        const mine = h.store.get(event.sliver_id)!;
        h.store.apply(claim(mine, event, 'other', Date.now(), 60_000));
        await new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true }));
        sawLost = opts.signal?.reason?.code === 'LEASE_LOST';
        const reply = h.codec.encode('result', buildResult(event, { outcome: 'OK', message: 'by other', startedAt: 1, finishedAt: 2 }));
        h.store.apply(recordAnswer(h.store.get(event.sliver_id)!, event, { outcome: 'OK', reply, ran: true }, 'other', Date.now(), { entries: 64, replies: 4 }));
        return buildResult(event, { outcome: 'CANCELLED', message: 'lost', startedAt: 1, finishedAt: 2 });
      },
    });
    const a = h.event({ sliver_id: 'A' });
    expect(await h.handle(a)).toBe('answered');
    expect(sawLost).toBe(true);
    expect(h.replies.map((r) => r.message)).toEqual(['by other']);
    expect(h.store.get('A')).toMatchObject({ writer: 'other', epoch: 2 });
  });

  it('running operations add no listener to the long-lived shutdown signal (finding 12)', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const h = pipelineHarness({
      concurrency: 20,
      execute: async (event) => {
        await gate;
        return buildResult(event, { outcome: 'OK', message: 'ok', startedAt: 1, finishedAt: 2 });
      },
    });
    const all = Array.from({ length: 20 }, () => h.handle(h.event()));
    await tick(100);
    expect(h.lanes.running).toBe(20);
    expect(getEventListeners(h.cancel.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(h.hardStop.signal, 'abort').length).toBeLessThanOrEqual(0);
    release();
    await Promise.all(all);
  });
});

describe('CLOSE behind queued events (finding 13)', () => {
  it('REDEEM, MODIFY, two POAs and CLOSE back to back: the create is cancelled, the queued ones are CANCELLED without running, the CLOSE runs', async () => {
    const h = pipelineHarness({
      execute: async (event, opts) => {
        if (event.operation === 'REDEEM') {
          await new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true }));
          return buildResult(event, { outcome: 'CANCELLED', message: `cancelled: ${String(opts.signal?.reason?.message)}`, startedAt: 1, finishedAt: 2 });
        }
        return buildResult(event, { outcome: 'OK', message: 'done', startedAt: 1, finishedAt: 2 });
      },
    });
    const s = 'S1';
    const redeem = h.event({ sliver_id: s, sequence: 1 });
    const modify = h.event({ sliver_id: s, sequence: 2, operation: 'MODIFY' });
    const poa1 = h.event({ sliver_id: s, sequence: 3, operation: 'POA', poa: { operation: 'cpuinfo', poa_id: 'p1', vcpu_cpu_map: [], node_set: [], keys: [] } });
    const poa2 = h.event({ sliver_id: s, sequence: 4, operation: 'POA', poa: { operation: 'reboot', poa_id: 'p2', vcpu_cpu_map: [], node_set: [], keys: [] } });
    const close = h.event({ sliver_id: s, sequence: 5, operation: 'CLOSE' });
    const fates = [h.handle(redeem)];
    await tick(20);
    fates.push(h.handle(modify), h.handle(poa1), h.handle(poa2), h.handle(close));
    await Promise.all(fates);
    expect(h.executed.map((e) => e.operation)).toEqual(['REDEEM', 'CLOSE']);
    const byId = new Map(h.replies.map((r) => [r.event_id, r]));
    expect(byId.get(redeem.event_id)?.outcome).toBe('CANCELLED');
    for (const e of [modify, poa1, poa2]) {
      expect(byId.get(e.event_id)).toMatchObject({ outcome: 'CANCELLED' });
      expect(byId.get(e.event_id)?.message).toContain(`superseded by CLOSE ${close.event_id}`);
    }
    expect(byId.get(close.event_id)?.outcome).toBe('OK');
  });
});
