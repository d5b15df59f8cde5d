import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { AvroCodec } from '../codec/codec.js';
import type { SliverLedger } from '../codec/types.js';
import type { WriteStamp } from './ledger.js';
import type { Logger } from '../observability/logger.js';
import { repoRoot } from '../paths.js';
import { StoreInUseError } from '../errors/index.js';
import { DirLock } from './dir-lock.js';
import { encodeState } from './encoded.js';
import { fromLocalValue, toLocalValue } from './local-value.js';

/** 4 GiB of address space for the store's memory map (see LMDB_OPTIONS): ~3M ledgers; not more, so that a `ulimit -v` of a few GiB still fits it (lmdb-js crashes when it cannot map). */
const LMDB_MAP_SIZE = 4 * 1024 ** 3;

/** The checker script: beside this module when built; from sources (tests), the built copy. */
const VERIFY = [fileURLToPath(new URL('./verify-local.js', import.meta.url)), join(repoRoot(), 'dist/state/verify-local.js')].find((f) => existsSync(f));

/**
 * No compression by lmdb-js: ledgers are compressed by the store itself (local-value.ts; the other records
 * are a few bytes each). No read-ahead (the hot path reads one record
 * at a time; read-ahead would pull neighbours into memory). `noSubdir: false`:
 * the path is a directory even when it has a dot in it (`amh.state`), which
 * lmdb would otherwise take for a file name. `mapSize`: address space only
 * (the file still grows page by page), reserved once so that the map is never
 * grown: lmdb-js starts at 128 KiB and doubles, keeping every old map (and its
 * resident pages) until the store closes, which held about twice the store's
 * size in RSS (bench/README.md, "Backlog benchmark"). A store that outgrows it
 * is still grown.
 */
export const LMDB_OPTIONS = { compression: false, noReadAhead: true, maxDbs: 8, noSubdir: false, mapSize: LMDB_MAP_SIZE } as const;

/**
 * Bumped when the layout below changes: an older store is rebuilt from the topic.
 * 4: a head carries its ledger's partition, and `by-partition` is written only when a sliver's partition changes.
 * 5: a ledger is its state-topic bytes (single-object Avro), LZ4-compressed by the store from 256 bytes
 *    (local-value.ts); it was msgpack, compressed by lmdb-js with its built-in dictionary.
 */
const FORMAT = 5;

/**
 * Commits start at most this often (ms): what is staged meanwhile joins the next one. A commit is an fsync
 * and two puts per sliver (compressed and handed over on the main thread, written by lmdb-js' own thread); under a
 * stream of short operations a sliver's lease mark and its answer, claimed ahead and answered within tens of
 * milliseconds, then go to disk as one put, and fewer commits carry more puts each. 100 ms rather than 20: the
 * pipeline bench's CPU per event fell 7 % (README "Batched writes"). The hot path does not wait for commits
 * (the state topic holds every record; a crash re-reads from the last checkpoint); a commit someone waits for
 * (`write`: the bulk restore, a tombstone; `flushed`, `close`) goes without waiting out the interval.
 */
const COMMIT_INTERVAL_MS = 100;

/** A ledger's write stamp, and the partition it was written for (the `by-partition` entry that lists it). */
type Head = WriteStamp & { partition: number };

interface Meta {
  format: number;
  topic: string;
}

/**
 * The local cache of the ledgers of the partitions an instance owns (or
 * owned), in an embedded LMDB store under the work dir, with the changelog
 * offset applied per partition. The compacted state topic stays the truth:
 * a missing, unreadable or foreign store is wiped and rebuilt from it, and
 * a checkpoint the topic contradicts is dropped with its partition.
 *
 * A ledger is kept as the bytes the state topic has of it (local-value.ts):
 * a commit encodes nothing (the store's writes were encoded for the topic,
 * and those bytes are kept with the record), and the hot path reads one
 * record synchronously and decodes it; nothing of them is held in the
 * JavaScript heap.
 */
export class LocalLedgers {
  /** Changes handed to `stage` and not committed yet (ledger null: a deletion), newest per sliver. */
  private readonly staged = new Map<string, Staged>();
  /** Of those, the ones the next commit takes (the rest are in the commit running now). */
  private queued = new Map<string, Staged>();
  private queuedCheckpoints = new Map<number, bigint>();
  private queuedCalls = 0;
  /** The commit running now (resolved when none), and the one queued behind it. */
  private flushing: Promise<void> = Promise.resolve();
  private nextFlush: Promise<void> | null = null;
  private readonly counts = { commits: 0, stagedCalls: 0, ledgersWritten: 0 };
  /** When the last commit started (ms, `performance.now()`). */
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  /** Set while the next commit waits out COMMIT_INTERVAL_MS: starts it now (a caller waits for it). */
  private hurry: (() => void) | null = null;
  /** The next commit is waited for (`write`, `flushed`): it does not wait out the interval. */
  private urgent = false;

  private constructor(
    private readonly root: RootDatabase,
    /** State-topic bytes, compressed from 256 (local-value.ts); binary to lmdb-js. */
    private readonly ledgers: Database<Buffer, string>,
    /** Each ledger's write stamp, apart: a restore compares stamps without reading (and mapping into memory) whole records. */
    private readonly heads: Database<Head, string>,
    private readonly byPartition: Database<true, [number, string]>,
    private readonly checkpoints: Database<string, number>,
    readonly dir: string,
    private readonly codec: AvroCodec,
  ) {}

  /** Opened with `open` (this process checked it), not attached: only then does a clean close vouch for it. */
  private owner = false;

  /** This process's claim on `dir` (held from `open` to `close`), so that no other opener wipes or writes it meanwhile. */
  private lock: DirLock | null = null;

  /**
   * Opens (or creates) the store for `topic` in `dir`; anything it cannot trust is wiped first.
   * Throws `StoreInUseError` while another opener (another instance on this host, or in this process) holds it.
   */
  static async open(dir: string, topic: string, codec: AvroCodec, logger: Logger): Promise<LocalLedgers> {
    const lock = await DirLock.tryAcquire(dir);
    if (!lock) throw new StoreInUseError(dir);
    try {
      const store = LocalLedgers.openOwned(dir, topic, codec, logger);
      store.lock = lock;
      return store;
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /**
   * `open` on `dir`, or, while another instance on this host holds it, on the first free of `dir.1`,
   * `dir.2`, ... (`slots` in all): instances started from one config (or `amh replay` beside `amh run`)
   * each own a store, kept as a warm cache for their next start like any other.
   */
  static async openFree(dir: string, topic: string, codec: AvroCodec, logger: Logger, slots = 16): Promise<LocalLedgers> {
    for (let slot = 0; slot < slots; slot++) {
      const candidate = slot === 0 ? dir : `${dir}.${slot}`;
      try {
        const store = await LocalLedgers.open(candidate, topic, codec, logger);
        if (slot > 0) logger.info({ dir, using: candidate }, 'the local ledger store is in use by another instance on this host: using a store of its own');
        return store;
      } catch (err) {
        if (!(err instanceof StoreInUseError)) throw err;
      }
    }
    throw new StoreInUseError(dir, slots);
  }

  private static openOwned(dir: string, topic: string, codec: AvroCodec, logger: Logger): LocalLedgers {
    // A damaged LMDB file can crash the process that opens it: look at it from a child process first, unless
    // the files are exactly as our last clean close left them (the check reads every record: seconds at 1M).
    const clean = closedCleanly(dir);
    rmSync(join(dir, CLEAN_MARK), { force: true }); // a crash from here on makes the next start check
    if (!VERIFY) logger.warn('the local store checker is not built (npm run build): opening the store unchecked');
    else if (clean) logger.debug({ dir }, 'local ledger store as the last clean close left it: not checked again');
    else if (existsSync(join(dir, 'data.mdb'))) {
      const check = spawnSync(process.execPath, [VERIFY, dir, topic], { stdio: 'ignore', timeout: 120_000 });
      if (check.status !== 0) {
        logger.warn({ dir, status: check.status, signal: check.signal }, 'local ledger store damaged or foreign: rebuilding it from the state topic');
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const attempt = (): LocalLedgers => {
      mkdirSync(dir, { recursive: true });
      const store = LocalLedgers.openExisting(dir, topic, codec, true);
      store.owner = true;
      return store;
    };
    try {
      return attempt();
    } catch (err) {
      logger.warn({ err, dir }, 'local ledger store unusable: rebuilding it from the state topic');
      rmSync(dir, { recursive: true, force: true });
      return attempt();
    }
  }

  /**
   * Opens the store another process opened (and checked) for `topic`, without
   * wiping anything: the bulk restore child writes into its parent's store.
   * Throws when it is not that store.
   */
  static attach(dir: string, topic: string, codec: AvroCodec): LocalLedgers {
    return LocalLedgers.openExisting(dir, topic, codec, false);
  }

  private static openExisting(dir: string, topic: string, codec: AvroCodec, create: boolean): LocalLedgers {
    const root = open({ path: dir, ...LMDB_OPTIONS });
    const meta = root.openDB<Meta, string>({ name: 'meta' });
    const found = meta.get('meta');
    const store = new LocalLedgers(
      root,
      root.openDB({ name: 'ledgers', encoding: 'binary' }),
      root.openDB({ name: 'heads' }),
      root.openDB({ name: 'by-partition', keyEncoding: 'ordered-binary' }),
      root.openDB({ name: 'checkpoints' }),
      dir,
      codec,
    );
    if ((found || !create) && (found?.format !== FORMAT || found.topic !== topic)) {
      throw new Error(`local store belongs to ${found?.topic ?? 'nothing'} (format ${found?.format ?? '?'}), not ${topic} (format ${FORMAT})`);
    }
    if (!found) meta.putSync('meta', { format: FORMAT, topic });
    return store;
  }

  /** Reads from now on see what other processes (the restore child) committed, at once rather than at the next event turn. */
  refresh(): void {
    this.root.resetReadTxn();
  }

  get(sliverId: string): SliverLedger | undefined {
    const staged = this.staged.get(sliverId);
    if (staged) return staged.ledger ?? undefined;
    const found = this.ledgers.get(sliverId);
    return found ? fromLocalValue(this.codec, found) : undefined;
  }

  /** The write stamp of a sliver's ledger (cheap: no record is read). */
  head(sliverId: string): WriteStamp | undefined {
    const staged = this.staged.get(sliverId)?.ledger;
    if (staged !== undefined) return staged ? { writer: staged.writer, epoch: staged.epoch, version: staged.version } : undefined;
    const head = this.heads.get(sliverId);
    return head && { writer: head.writer, epoch: head.epoch, version: head.version };
  }

  /**
   * Changes that `get`, `head` and `ledgersOf` see at once, committed behind the caller (LMDB makes a commit
   * durable with an fsync: milliseconds the hot path does not wait for). Resolves when durable; a caller that
   * does not wait must still hear about a failure. Nothing here is the only copy: every record is on the state
   * topic, and a checkpoint is only ever committed together with the changes below it, so a crash before the
   * commit leaves a checkpoint that re-reads them.
   */
  stage(partition: number, changes: ReadonlyMap<string, SliverLedger | null>, checkpoint?: bigint): Promise<void> {
    for (const [sliverId, ledger] of changes) {
      const entry = { partition, ledger };
      this.staged.set(sliverId, entry);
      this.queued.set(sliverId, entry);
    }
    if (checkpoint !== undefined) this.queuedCheckpoints.set(partition, checkpoint);
    this.queuedCalls++;
    this.nextFlush ??= this.flushAfter(this.flushing);
    return this.nextFlush;
  }

  /**
   * Writes (or, with null, deletes) ledgers; resolves when durable. In order with every `stage` before it:
   * what is queued is committed first, or with it.
   */
  write(partition: number, changes: ReadonlyMap<string, SliverLedger | null>, checkpoint?: bigint): Promise<void> {
    const done = this.stage(partition, changes, checkpoint);
    this.expedite();
    return done;
  }

  /** Changes staged and not committed yet (slivers), and what committing has done so far. */
  get stats(): { staged: number; commits: number; stagedCalls: number; ledgersWritten: number } {
    return { staged: this.stagedCount, ...this.counts };
  }

  /** Slivers staged and not committed yet (the hot path's check, without the `stats` object). */
  get stagedCount(): number {
    return this.staged.size;
  }

  /** Resolves when everything staged before the call is durable (rejects when that commit failed). */
  flushed(): Promise<void> {
    this.expedite();
    return this.nextFlush ?? this.flushing;
  }

  /** Someone waits for the next commit: it goes as soon as the one running (if any) is done. */
  private expedite(): void {
    if (!this.nextFlush) return;
    this.urgent = true;
    this.hurry?.();
  }

  /**
   * The next commit, after the one running (`previous`) and no sooner than COMMIT_INTERVAL_MS after it
   * started, unless a caller waits for it (`write`, `flushed`): it takes everything queued by then, newest per
   * sliver, with the highest checkpoint per partition. One commit runs at a time, so a checkpoint is never
   * durable before the changes staged ahead of it; and a sliver staged again and again while a commit runs
   * (its lease mark, then its answer) is written once, as it stands last.
   */
  private async flushAfter(previous: Promise<void>): Promise<void> {
    await previous.catch(() => undefined);
    const wait = this.lastCommitAt + COMMIT_INTERVAL_MS - performance.now();
    if (wait > 0 && !this.urgent) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.hurry = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.hurry = null;
    }
    this.urgent = false;
    this.lastCommitAt = performance.now();
    const changes = this.queued;
    const checkpoints = this.queuedCheckpoints;
    this.queued = new Map();
    this.queuedCheckpoints = new Map();
    this.counts.stagedCalls += this.queuedCalls;
    this.queuedCalls = 0;
    this.flushing = this.nextFlush ?? Promise.resolve();
    this.nextFlush = null;
    try {
      await this.commit(changes, checkpoints);
    } finally {
      for (const [sliverId, entry] of changes) if (this.staged.get(sliverId) === entry) this.staged.delete(sliverId);
    }
  }

  /**
   * One transaction. Two puts per ledger (record and head); the `by-partition` entry only when the sliver is
   * new here or its partition changed (the head says which it was). Asynchronous puts, all handed in within
   * this one event turn: lmdb-js commits them in one transaction (its event-turn batching) and writes them on
   * its own thread; the main thread encodes them (in a transaction callback it ran every put: README
   * "Batched writes").
   */
  private async commit(changes: ReadonlyMap<string, Staged>, checkpoints: ReadonlyMap<number, bigint>): Promise<void> {
    this.counts.commits++;
    this.counts.ledgersWritten += changes.size;
    const writes: Promise<boolean>[] = [];
    for (const [sliverId, { partition, ledger }] of changes) {
      const was = this.heads.get(sliverId)?.partition;
      if (ledger) {
        writes.push(this.ledgers.put(sliverId, toLocalValue(encodeState(this.codec, ledger))));
        writes.push(this.heads.put(sliverId, { writer: ledger.writer, epoch: ledger.epoch, version: ledger.version, partition }));
        if (was === partition) continue;
        if (was !== undefined) writes.push(this.byPartition.remove([was, sliverId]));
        writes.push(this.byPartition.put([partition, sliverId], true));
      } else {
        writes.push(this.ledgers.remove(sliverId), this.heads.remove(sliverId), this.byPartition.remove([was ?? partition, sliverId]));
      }
    }
    for (const [partition, checkpoint] of checkpoints) writes.push(this.checkpoints.put(partition, checkpoint.toString()));
    await Promise.all(writes);
  }

  /** The next changelog offset to read for `partition`, when one was applied. */
  checkpoint(partition: number): bigint | undefined {
    const at = this.checkpoints.get(partition);
    return at === undefined ? undefined : BigInt(at);
  }

  /** Forgets a partition (its checkpoint cannot be trusted, e.g. the topic was recreated). */
  async clearPartition(partition: number): Promise<void> {
    await this.flushed().catch(() => undefined);
    const keys = [...this.byPartition.getKeys({ start: [partition, ''], end: [partition + 1, ''] })];
    await this.root.transaction(() => {
      for (const key of keys) {
        void this.byPartition.remove(key);
        void this.ledgers.remove(key[1]);
        void this.heads.remove(key[1]);
      }
      void this.checkpoints.remove(partition);
    });
  }

  /** The ledgers of one partition in sliver id order, staged ones not committed yet included. */
  *ledgersOf(partition: number): Generator<SliverLedger> {
    // Staged slivers not committed yet, merged in order (the committed keys come sorted). Only the staged
    // ones are remembered, so a pass over a large partition holds nothing per sliver.
    const pending = [...this.staged]
      .filter(([, s]) => s.partition === partition && s.ledger !== null)
      .map(([id]) => id)
      .sort();
    const isPending = new Set(pending);
    let next = 0;
    const committed = this.byPartition.getKeys({ start: [partition, ''], end: [partition + 1, ''] });
    for (const [, sliverId] of committed) {
      for (; next < pending.length && (pending[next] as string) <= sliverId; next++) {
        const ledger = this.get(pending[next] as string);
        if (ledger) yield ledger;
      }
      if (isPending.has(sliverId)) continue;
      const ledger = this.get(sliverId);
      if (ledger) yield ledger;
    }
    for (; next < pending.length; next++) {
      const ledger = this.get(pending[next] as string);
      if (ledger) yield ledger;
    }
  }

  count(partition: number): number {
    return this.byPartition.getKeysCount({ start: [partition, ''], end: [partition + 1, ''] });
  }

  /** Bytes of the store's files on disk. */
  bytes(): number {
    try {
      return readdirSync(this.dir).reduce((sum, f) => sum + statSync(join(this.dir, f)).size, 0);
    } catch {
      return 0;
    }
  }

  async close(): Promise<void> {
    try {
      // What is staged goes to disk first; a commit that failed leaves no clean mark.
      const committed = await this.flushed().then(() => true, () => false);
      await this.root.close();
      // Only the process that opened (and checked) the store vouches for it: a restore child only attaches.
      if (this.owner && committed) writeFileSync(join(this.dir, CLEAN_MARK), JSON.stringify(dataStamp(this.dir)));
    } catch {
      // No mark: the next start checks the store, which is only slower.
    } finally {
      await this.lock?.release();
    }
  }
}

/** A change handed to `stage`, not committed yet. */
interface Staged {
  partition: number;
  ledger: SliverLedger | null;
}

/** Written at a clean close: the data file's size and times then. Removed at open, so a crash leaves none. */
const CLEAN_MARK = 'closed-cleanly.json';

function dataStamp(dir: string): { size: number; mtimeMs: number; ino: number } | null {
  try {
    const st = statSync(join(dir, 'data.mdb'));
    return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  } catch {
    return null;
  }
}

/** Whether the data file is exactly as the last clean close left it (same inode, size and modification time). */
function closedCleanly(dir: string): boolean {
  try {
    const mark = JSON.parse(readFileSync(join(dir, CLEAN_MARK), 'utf8')) as ReturnType<typeof dataStamp>;
    const now = dataStamp(dir);
    return mark !== null && now !== null && mark.size === now.size && mark.mtimeMs === now.mtimeMs && mark.ino === now.ino;
  } catch {
    return false;
  }
}
