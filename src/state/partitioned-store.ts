import type { Admin, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { AvroCodec } from '../codec/codec.js';
import type { SliverLedger } from '../codec/types.js';
import { AmhError, TransientError, errorMessage } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import { applyChangelog } from './changelog-apply.js';
import { sameWrite, supersedes, type WriteStamp } from './ledger.js';
import { LocalLedgers } from './local-ledgers.js';
import { ReadWaiters, describeWrite, reassert, watchReaderCrash } from './reader-support.js';
import { RestoreDelegation, type ChildRestoreSettings, type Restoring } from './restore-delegation.js';
import { partitionOf } from '../kafka/partition-of.js';
import { encodeState } from './encoded.js';
import { OwnWrites } from './own-writes.js';
import type { WriteBatcher } from '../kafka/write-batcher.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { LedgerStore, LedgerUpdate, UpdateOptions, WriteOutcome } from './store.js';

export interface PartitionedLedgerStoreOptions {
  kafka: Kafka;
  producer: Producer;
  codec: AvroCodec;
  /** The compacted state topic, co-partitioned with the events topic. */
  topic: string;
  /** Unique per process. */
  instanceId: string;
  logger: Logger;
  /** Directory of the local store (LMDB); while another instance on this host holds it, `dir.1`, `dir.2`, ... */
  dir: string;
  /** How long a write may wait to be read back before it counts as a transient failure. */
  readBackTimeoutMs?: number;
  /** The reader stopped for good: the service must stop. */
  onFailure?: (err: AmhError) => void;
  /** A partition's ledgers were restored (metrics). */
  onRestored?: (restore: { partition: number; durationMs: number; applied: number }) => void;
  /** Bulk restores in a child process (see `assign`); without it every restore runs in this process. */
  restoreInChild?: ChildRestoreSettings;
  /** Ledger writes through the service's write batcher (`kafka.write_batch`); without it each write is its own request. */
  batcher?: WriteBatcher;
}

export type { ChildRestoreSettings };

/** Ledgers staged in memory, not committed to the local store yet, past which the reader waits for its disk. */
const STAGED_LIMIT = 4096;

/**
 * Ledgers that follow partitions (Kafka Streams' model): the compacted state
 * topic is the changelog, a local LMDB store the cache. An instance restores
 * a partition's ledgers when the partition is assigned to it, from the
 * offset its local store had applied (the whole partition when it has none),
 * and stops following it when it is revoked; nothing of a partition runs
 * before `ready(partition)`. Memory holds no ledgers: the hot path reads the
 * local store.
 *
 * Writes keep the rules of the whole-topic store: a record counts once read
 * back from the log (or, for a writer under its own lease, once
 * acknowledged), readers order records by (epoch, version), and a writer
 * that sees a losing record after its winning one writes it again.
 */
export class PartitionedLedgerStore implements LedgerStore {
  private readonly parts = new Map<number, Restoring>();
  private readonly reads = new ReadWaiters();
  private readonly mutex = new KeyedMutex();
  private local: LocalLedgers | null = null;
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  private allPartitions: number[] = [];
  private readonly delegation: RestoreDelegation;
  private failure: AmhError | null = null;
  private stopped = false;
  private stopping: Promise<void> | null = null;
  /** Own records the reader has yet to apply: it takes them as written instead of decoding them again. */
  private readonly written = new OwnWrites();
  /**
   * Read-back writes that counted once acknowledged because only our own records stood before them, and those
   * that waited for the reader to get there (tests, the bench).
   */
  readonly stats = { confirmedAhead: 0, waitedForReader: 0 };
  /** The local commit whose failure is watched last (see `commitInBackground`). */
  private watched: Promise<void> | null = null;

  constructor(private readonly o: PartitionedLedgerStoreOptions) {
    this.delegation = new RestoreDelegation(o.restoreInChild, {
      topic: o.topic,
      instanceId: o.instanceId,
      logger: o.logger,
      local: () => this.requireLocal(),
      isCurrent: (p, s) => this.parts.get(p) === s,
      handBack: (p, s, how) => this.handBack(p, s, how),
      conflict: (p, c) => this.conflict(c.sliverId, c.known, c.ignored, p, c.offset),
      progressed: () => this.reads.wakeAll(),
    });
  }

  private get timeoutMs(): number {
    return this.o.readBackTimeoutMs ?? 30_000;
  }

  /** Opens the local store and starts the reader; restores nothing until `assign`. Safe to call again after a failure. */
  async start(): Promise<void> {
    this.local ??= await LocalLedgers.openFree(this.o.dir, this.o.topic, this.o.codec, this.o.logger);
    this.admin ??= this.o.kafka.admin();
    await this.admin.connect();
    const offsets = await this.admin.fetchTopicOffsets(this.o.topic);
    this.allPartitions = offsets.map((p) => p.partition).sort((a, b) => a - b);
    if (this.consumer) return;
    const consumer = this.o.kafka.consumer({ groupId: `amh-ledger-${this.o.instanceId}`, maxWaitTimeInMs: 200 });
    watchReaderCrash(consumer, this.o.topic, this.o.logger, (err) => this.fail(err));
    // Each join (the first, or after a restart) starts at the group's position: put ours back.
    consumer.on(consumer.events.GROUP_JOIN, () => this.position());
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatch: (payload) => this.applyBatch(payload) });
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
    this.consumer = consumer;
    this.position();
  }

  /**
   * Starts restoring these partitions (those not already followed); resolves when all of them are restored.
   * When they have at least `restoreInChild.minRecords` records to restore in all, the largest of them are
   * restored by a child process (until less than that is left here), and this process follows them from the
   * child's checkpoints: the memory a bulk restore touches goes away with the child. A child that fails or
   * is killed leaves its checkpoints exact, and this process restores the rest itself.
   */
  async assign(partitions: readonly number[]): Promise<void> {
    const local = this.requireLocal();
    const fresh = partitions.filter((p) => !this.parts.has(p));
    if (fresh.length > 0) {
      const created = new Map<number, Restoring>();
      const watermarks = new Map((await this.requireAdmin().fetchTopicOffsets(this.o.topic)).map((w) => [w.partition, w]));
      for (const p of fresh) {
        if (this.parts.has(p)) continue;
        const w = watermarks.get(p);
        const [low, high] = [BigInt(w?.low ?? '0'), BigInt(w?.high ?? '0')];
        let start = local.checkpoint(p);
        if (start !== undefined && (start > high || start < low)) {
          this.o.logger.warn({ partition: p, checkpoint: start.toString(), low: low.toString(), high: high.toString() }, 'local ledgers of a partition contradict the topic (recreated?): restoring it from the start');
          await local.clearPartition(p);
          start = undefined;
        }
        let resolve: () => void = () => {};
        let reject: (err: unknown) => void = () => {};
        const ready = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
        ready.catch(() => undefined);
        const state: Restoring = { position: start ?? low, target: high, ready, resolve, reject, startedAt: Date.now(), from: start ?? low, applied: 0, child: null };
        this.parts.set(p, state);
        created.set(p, state);
        this.o.logger.info({ partition: p, from: state.position.toString(), to: high.toString(), warm: start !== undefined }, 'restoring the ledgers of a partition');
        this.checkRestored(p, state);
      }
      this.delegation.delegate(created);
      this.position();
    }
    await Promise.all(partitions.map((p) => this.ready(p)));
  }

  /** Stops following these partitions; their local data stays as a cache for a later assignment. */
  revoke(partitions: readonly number[]): void {
    for (const p of partitions) {
      this.parts.get(p)?.reject(new TransientError(`partition ${p} of ${this.o.topic} was revoked while restoring`));
      this.parts.delete(p);
      this.written.drop(p);
    }
    // A child left with nothing we still follow is stopped (what it committed stays, as a cache).
    this.delegation.revoked();
    if (partitions.length > 0) this.position();
  }

  /** Partitions of the state topic (the events topic's count: they are co-partitioned); 0 before `start`. */
  get partitionCount(): number {
    return this.allPartitions.length;
  }

  /** Resolves when the partition's ledgers are restored. */
  ready(partition: number): Promise<void> {
    const state = this.parts.get(partition);
    if (this.failure) return Promise.reject(this.failure);
    if (!state) return Promise.reject(new TransientError(`partition ${partition} of ${this.o.topic} is not assigned to this instance`));
    return state.ready;
  }

  /** Followed partitions caught up with everything written before the call. */
  async catchUp(): Promise<void> {
    const ends = new Map((await this.requireAdmin().fetchTopicOffsets(this.o.topic)).map((w) => [w.partition, BigInt(w.high)]));
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      this.throwIfFailed();
      const behind = [...this.parts].some(([p, s]) => s.position < (ends.get(p) ?? 0n));
      if (!behind) return;
      if (Date.now() > deadline) throw new TransientError(`ledger catch-up of ${this.o.topic} did not finish within ${this.timeoutMs} ms`);
      await this.reads.next(500);
    }
  }

  get(sliverId: string): SliverLedger | undefined {
    return this.local?.get(sliverId);
  }

  update(sliverId: string, next: LedgerUpdate, options: UpdateOptions = {}): Promise<WriteOutcome> {
    return this.mutex.run(sliverId, async () => {
      this.throwIfFailed();
      const record = next(this.get(sliverId));
      if (!record) return { won: false, current: this.get(sliverId) };
      await this.write(record, options.confirm ?? 'read-back');
      const current = this.get(sliverId);
      return { won: current !== undefined && sameWrite(current, record), current };
    });
  }

  /**
   * Deletes the sliver's ledger (a tombstone on the compacted topic, so
   * compaction removes every record of it) if `still` holds for it when the
   * write is its turn. Resolves true when it was deleted.
   */
  tombstone(sliverId: string, still: (ledger: SliverLedger) => boolean): Promise<boolean> {
    return this.mutex.run(sliverId, async () => {
      this.throwIfFailed();
      const current = this.get(sliverId);
      if (!current || !still(current)) return false;
      const [meta] = await this.o.producer.send({ topic: this.o.topic, acks: -1, messages: [{ key: sliverId, value: null }] });
      await this.requireLocal().write(meta?.partition ?? 0, new Map([[sliverId, null]]));
      return true;
    });
  }

  /** The ledgers held locally for a followed partition. */
  ledgersOf(partition: number): Iterable<SliverLedger> {
    return this.parts.has(partition) ? this.requireLocal().ledgersOf(partition) : [];
  }

  /** Partitions followed now, with how many ledgers each holds locally, and whether a child restored them. */
  describe(): { partition: number; ledgers: number; restored: boolean; from: bigint; applied: number; child: Restoring['child'] }[] {
    return [...this.parts].map(([partition, s]) => ({
      partition,
      ledgers: this.local?.count(partition) ?? 0,
      restored: s.position >= s.target,
      from: s.from,
      applied: s.applied,
      child: s.child,
    }));
  }

  /** Restore children started so far, and the process ids of those running now. */
  restoreChildren(): { started: number; running: number[] } {
    return this.delegation.describe();
  }

  /** Bytes of the local store on disk. */
  localBytes(): number {
    return this.local?.bytes() ?? 0;
  }

  /** Kills the restore children, stops the reader and closes the local store. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      this.reads.wakeAll();
      await this.delegation.stop();
      await Promise.allSettled([this.consumer?.disconnect(), this.admin?.disconnect()]);
      await this.local?.close().catch(() => undefined);
    })();
    return this.stopping;
  }

  private async write(record: SliverLedger, confirm: 'read-back' | 'ack'): Promise<void> {
    const { partition, offset } = await this.produce(record);
    const followed = this.parts.get(partition);
    if (followed && followed.child !== 'running') this.written.remember(partition, offset, followed.position, record);
    // A partition this instance does not follow never reads the record back: it counts once acknowledged.
    if (confirm === 'ack' || !followed) {
      this.stageNewer(partition, new Map([[record.sliver_id, record]]));
      return;
    }
    // Nothing but our own records, known as written, between the reader and this one: the reader will find it
    // exactly as the ledgers stand now (a foreign record, or one of ours not known by its offset, means waiting).
    if (followed.child !== 'running' && followed.position <= offset && this.written.covers(partition, followed.position, offset)) {
      this.stageNewer(partition, new Map([[record.sliver_id, record]]));
      this.stats.confirmedAhead++;
      return;
    }
    if (followed.position <= offset) this.stats.waitedForReader++;
    const deadline = Date.now() + this.timeoutMs;
    while ((this.parts.get(partition)?.position ?? offset + 1n) <= offset) {
      this.throwIfFailed();
      if (this.stopped) throw new TransientError('ledger store stopped before a write was read back');
      if (Date.now() > deadline) {
        throw new TransientError(`ledger write of ${record.sliver_id} (${this.o.topic}/${partition}@${offset}) not read back within ${this.timeoutMs} ms`);
      }
      await this.reads.next(1000);
    }
  }

  /**
   * Seen by every read from now on: the changes that supersede what is held (a write of ours that counted
   * meanwhile may be newer than what a reader's batch found), deletions always, and the checkpoint. Their
   * commit to disk is not waited for (the state topic holds every record).
   */
  private stageNewer(partition: number, changes: Map<string, SliverLedger | null>, checkpoint?: bigint): void {
    const local = this.requireLocal();
    for (const [id, ledger] of changes) if (ledger && !supersedes(ledger, local.head(id))) changes.delete(id);
    if (changes.size > 0 || checkpoint !== undefined) this.commitInBackground(local.stage(partition, changes, checkpoint));
  }

  /** One ledger record, acknowledged by all in-sync replicas: its partition and its own offset. */
  private async produce(record: SliverLedger): Promise<{ partition: number; offset: bigint }> {
    const value = encodeState(this.o.codec, record);
    if (this.o.batcher && this.allPartitions.length > 0) {
      // The partition named here (the producer's own choice for the key), so the batched write knows its offset.
      const partition = partitionOf(record.sliver_id, this.allPartitions.length);
      const written = await this.o.batcher.write(this.o.topic, { key: record.sliver_id, value, partition });
      if (written.offset === null) throw new AmhError(`no offset returned for the ledger write of ${record.sliver_id}`);
      return { partition, offset: written.offset };
    }
    const [meta] = await this.o.producer.send({ topic: this.o.topic, acks: -1, messages: [{ key: record.sliver_id, value }] });
    if (!meta?.baseOffset) throw new AmhError(`no offset returned for the ledger write of ${record.sliver_id}`);
    return { partition: meta.partition, offset: BigInt(meta.baseOffset) };
  }

  private async applyBatch({ batch }: EachBatchPayload): Promise<void> {
    const p = batch.partition;
    const state = this.parts.get(p);
    if (!state || state.child === 'running' || batch.messages.length === 0) return;
    const local = this.requireLocal();
    const mine = this.written.lookup(p);
    const { changes, next, applied, conflicts } = await applyChangelog(batch.messages, state.position, {
      codec: this.o.codec,
      head: (id) => local.head(id),
      logger: this.o.logger,
      topic: this.o.topic,
      partition: p,
      ...(mine ? { written: mine } : {}),
    });
    if (mine) this.written.applied(p, batch.messages.map((m) => m.offset), next);
    state.applied += applied;
    for (const c of conflicts) this.conflict(c.sliverId, c.known, c.ignored, p, c.offset);
    if (this.parts.get(p) !== state) return; // revoked meanwhile
    if (next > state.position) {
      // Readers (and writers waiting for their read-back) see the batch at once; its commit (with the checkpoint)
      // goes to disk behind them, with whatever else is staged by then. Staged changes are held in memory until
      // committed: past STAGED_LIMIT slivers the reader waits for the disk.
      if (local.stagedCount > STAGED_LIMIT) await local.flushed().catch(() => undefined);
      this.stageNewer(p, changes, next);
      state.position = next;
    }
    this.checkRestored(p, state);
    this.reads.wakeAll();
  }

  /**
   * A local commit nobody waits for: a failure stops the store (nothing else is safe). `close` waits for it.
   * Stages that join one commit share its promise: it is watched once.
   */
  private commitInBackground(commit: Promise<void>): void {
    if (commit === this.watched) return;
    this.watched = commit;
    commit.catch((err: unknown) => this.fail(new AmhError(`local ledger store write failed: ${errorMessage(err)}`, { cause: err })));
  }

  /** This process's reader follows the partition again, from where the child left it. */
  private handBack(partition: number, state: Restoring, how: 'done' | 'failed'): void {
    state.child = how;
    this.requireLocal().refresh();
    this.checkRestored(partition, state);
    this.position();
  }

  private checkRestored(partition: number, state: Restoring): void {
    if (state.position < state.target) return;
    state.resolve();
    if (state.startedAt > 0) {
      const durationMs = Date.now() - state.startedAt;
      this.o.logger.info({ partition, durationMs, applied: state.applied }, 'ledgers of a partition restored');
      this.o.onRestored?.({ partition, durationMs, applied: state.applied });
      state.startedAt = 0;
    }
  }

  private conflict(sliverId: string, known: WriteStamp, ignored: WriteStamp, partition: number, offset: string): void {
    this.o.logger.warn(
      { sliverId, ignored: describeWrite(ignored), holds: describeWrite(known), partition, offset },
      'ledger record from a superseded writer ignored',
    );
    if (known.writer !== this.o.instanceId) return;
    // After the partition is restored (or not followed any more): while a child restores it, nothing here reads writes back.
    const restored = this.parts.get(partition)?.ready.catch(() => undefined) ?? Promise.resolve();
    void restored.then(() => this.update(sliverId, reassert(this.o.instanceId, known))).catch(
      (err: unknown) => this.o.logger.warn({ err, sliverId }, 'could not re-assert a ledger record; the next write will'),
    );
  }

  /** Pause what we do not follow (or a child restores); seek what we do to where it stands. */
  private position(): void {
    const consumer = this.consumer;
    if (!consumer) return;
    try {
      const followed = [...this.parts].filter(([, s]) => s.child !== 'running');
      const others = this.allPartitions.filter((p) => !followed.some(([f]) => f === p));
      if (others.length > 0) consumer.pause([{ topic: this.o.topic, partitions: others }]);
      if (followed.length > 0) consumer.resume([{ topic: this.o.topic, partitions: followed.map(([p]) => p) }]);
      for (const [partition, s] of followed) consumer.seek({ topic: this.o.topic, partition, offset: s.position.toString() });
    } catch (err) {
      // Before the reader's first join there is nothing to pause or seek yet; its GROUP_JOIN comes back here.
      this.o.logger.debug({ err }, 'ledger reader not positioned yet');
    }
  }


  private fail(err: AmhError): void {
    if (this.failure) return;
    this.failure = err;
    this.o.logger.fatal({ err }, err.message);
    for (const s of this.parts.values()) s.reject(err);
    this.reads.wakeAll();
    this.o.onFailure?.(err);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private requireLocal(): LocalLedgers {
    if (!this.local) throw new AmhError('ledger store not started');
    return this.local;
  }

  private requireAdmin(): Admin {
    if (!this.admin) throw new AmhError('ledger store not started');
    return this.admin;
  }
}
