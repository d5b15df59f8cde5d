import { describe, expect, it } from 'vitest';
import { owns } from '../../../src/audit/compare.js';
import { OWNED_NOW, orphanGuard } from '../../../src/audit/repair-guard.js';
import { OrphanRepairer } from '../../../src/audit/repairer.js';
import type { Orphan } from '../../../src/audit/types.js';
import { AvroCodec, SchemaCatalog } from '../../../src/codec/index.js';
import type { SliverEvent, SliverLedger, SliverResult } from '../../../src/codec/types.js';
import type { Executor } from '../../../src/dispatch/executor.js';
import { KeyedLanes } from '../../../src/dispatch/lanes.js';
import { SlidingWindowLimit } from '../../../src/kafka/rate-limit.js';
import { TypedEmitter, type ServiceEvents } from '../../../src/observability/events.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { LedgerGate } from '../../../src/pipeline/02-gate.js';
import { MessagePipeline } from '../../../src/pipeline/pipeline.js';
import { RunningOps } from '../../../src/pipeline/running.js';
import { buildResult } from '../../../src/results/builder.js';
import type { DeadLetterPublisher } from '../../../src/results/dead-letter.js';
import type { ReplyPublisher } from '../../../src/results/reply-publisher.js';
import { emptyLedger } from '../../../src/state/ledger.js';
import { MemoryLedgerStore } from '../../../src/state/store.js';

const codec = new AvroCodec(SchemaCatalog.load());

function harness() {
  const store = new MemoryLedgerStore();
  const executed: SliverEvent[] = [];
  const replies: SliverResult[] = [];
  const lanes = new KeyedLanes(2);
  const gate = new LedgerGate({ store, codec, instanceId: 'me', keep: 64, replies: 4, retentionMs: 7 * 86_400_000, leaseTtlMs: 10_000, maxReplyBytes: 256 * 1024, maxRecordBytes: 900 * 1024, logger: silentLogger() });
  const pipeline = new MessagePipeline({
    codec,
    gate,
    executor: {
      execute: async (event: SliverEvent) => {
        executed.push(event);
        return buildResult(event, { outcome: 'OK', message: 'VM deleted', startedAt: 1, finishedAt: 2 });
      },
    } as unknown as Executor,
    lanes,
    running: new RunningOps(true),
    replies: { send: async (result: SliverResult) => void replies.push(result) } as unknown as ReplyPublisher,
    deadLetters: {} as DeadLetterPublisher,
    deadLetterLimit: new SlidingWindowLimit(10, 60_000),
    maxEventBytes: 512 * 1024,
    logger: silentLogger(),
    events: new TypedEmitter<ServiceEvents>(),
    cancel: new AbortController().signal,
    hardStop: new AbortController().signal,
    ledgerReady: async () => undefined,
  });
  const repairer = new OrphanRepairer({
    pipeline,
    gate,
    eventsTopic: 'events',
    partitionCount: 1,
    owned: () => new AbortController().signal,
    busy: (id) => lanes.has(id),
    logger: silentLogger(),
  });
  return { store, gate, executed, replies, lanes, repairer };
}

const orphan = (sliverId: string, ledger: SliverLedger | null = null): Orphan => ({
  handler: 'vm',
  key: sliverId,
  reason: ledger ? 'closed' : 'no-ledger',
  ledger,
  object: {
    name: `${sliverId}-node1`,
    sliverId,
    resourceType: 'VM',
    createdAt: null,
    record: {},
    close: {
      node_sliver: { name: 'node1', site: null, worker: null, instance_type: null, capacities: null, image: null, management: { ipv6: false, management_ip: null, instance_name: `${sliverId}-node1` }, components: [], interfaces: [], labels: {} },
      network_sliver: null,
    },
  },
});

/** A CLOSE of an orphan VM, as the repairer synthesizes it. */
function closeOf(sliverId: string, eventId: string): SliverEvent {
  const close = orphan(sliverId).object.close;
  return {
    event_id: eventId, operation: 'CLOSE', sliver_id: sliverId, slice_id: '', resource_type: 'VM', sequence: 0, timestamp: Date.now(),
    node_sliver: close?.node_sliver ?? null, network_sliver: null, previous_node_sliver: null, previous_network_sliver: null,
    slice: { user_ssh_keys: [], project_id: null, slice_name: null }, poa: null, trace_id: null,
  };
}

/** A REDEEM answered OK: the ledger an event of the AM leaves. */
function openLedger(sliverId: string, sequence = 0): SliverLedger {
  return { ...emptyLedger(sliverId), version: 1, epoch: 1, writer: 'other', applied_sequence: sequence, entries: [{ event_id: 'am-redeem', sequence, operation: 'REDEEM', outcome: 'OK', finished_at: 1, reply: Buffer.alloc(0) }] };
}

describe('orphan repair', () => {
  it('deletes an orphan with a CLOSE through the pipeline, recorded in a ledger that owns nothing afterwards', async () => {
    const h = harness();
    const repair = await h.repairer.repair(orphan('s1'));
    expect(repair).toMatchObject({ action: 'DELETE', outcome: 'OK', message: 'VM deleted' });
    expect(h.executed.map((e) => [e.operation, e.sliver_id, e.sequence, e.node_sliver?.management.instance_name])).toEqual([['CLOSE', 's1', 0, 's1-node1']]);
    expect(h.executed[0]?.event_id).toBe(repair.event_id);
    expect(h.replies.map((r) => r.event_id)).toEqual([repair.event_id]);
    const ledger = h.store.get('s1');
    expect(ledger?.closed_at).toBeGreaterThan(0);
    expect(owns(ledger)).toBe(false);
  });

  it('re-closes the ledger of a closed sliver with the sequence it applied', async () => {
    const h = harness();
    const closed = { ...openLedger('s2', 3), closed_at: 5 };
    h.store.apply(closed);
    expect((await h.repairer.repair(orphan('s2', closed))).outcome).toBe('OK');
    expect(h.executed[0]?.sequence).toBe(3);
  });

  it('never touches a sliver a ledger started to own after the audit: SKIPPED, nothing run, nothing written', async () => {
    const h = harness();
    const seen = orphan('s3'); // the audit saw no ledger...
    h.store.apply(openLedger('s3')); // ...then the AM's REDEEM of that sliver was answered
    const repair = await h.repairer.repair(seen);
    expect(repair).toEqual({ action: 'DELETE', outcome: 'SKIPPED', event_id: null, message: OWNED_NOW });
    expect(h.executed).toEqual([]);
    expect(h.replies).toEqual([]);
    expect(h.store.get('s3')?.version).toBe(1);
  });

  it('refuses the lease of a sliver under repair once a ledger owns it, inside the claim', async () => {
    const h = harness();
    const repair = closeOf('s4', 'amh-orphan-repair:1');
    const unguard = h.gate.guard(repair.event_id, orphanGuard(repair.event_id));
    expect(h.gate.decide(repair).kind).toBe('run'); // decided while nothing owned the sliver...
    h.store.apply(openLedger('s4')); // ...the AM's REDEEM was answered before the claim
    expect(await h.gate.claim(repair, silentLogger())).toBeNull();
    expect(h.store.get('s4')?.version).toBe(1);
    expect(h.gate.decide(repair)).toEqual({ kind: 'stale', reason: OWNED_NOW, unrecorded: true });
    unguard();
  });

  it('skips a sliver with an event queued or running, and an orphan that names no sliver', async () => {
    const h = harness();
    let release: () => void = () => {};
    const queued = h.lanes.run('s5', () => new Promise<void>((r) => (release = r)));
    expect((await h.repairer.repair(orphan('s5'))).message).toBe('an event of the sliver is queued or running');
    release();
    await queued;
    const nameless = orphan('x');
    nameless.object.sliverId = null;
    expect((await h.repairer.repair(nameless)).outcome).toBe('SKIPPED');
    expect(h.executed).toEqual([]);
  });
});

