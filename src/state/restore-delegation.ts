import type { KafkaConnection } from '../kafka/client.js';
import type { Logger } from '../observability/logger.js';
import type { LedgerConflict } from './changelog-apply.js';
import { restoreInChild, type ChildRestoreOutcome } from './child-restore.js';
import type { LocalLedgers } from './local-ledgers.js';

export interface ChildRestoreSettings {
  /** How the child reaches the brokers: the service's own client options (core.ts `kafkaConnection`). */
  connection: KafkaConnection;
  /** An assignment with at least this many records to restore sends its largest partitions to a child (`runtime.ledger_restore_child_min_records`). */
  minRecords: number;
  /** A child silent for this long is killed (default 120 s); its partitions go on in this process. */
  stallMs?: number;
}

/** Where the restore of one assigned partition stands. */
export interface Restoring {
  /** Next changelog offset to apply. */
  position: bigint;
  /** Restored once `position` reaches this (the end of the partition when it was assigned). */
  target: bigint;
  ready: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
  startedAt: number;
  /** Where this restore started, and how many changelog records it applied. */
  from: bigint;
  applied: number;
  /** Restored by a child process: 'running' while it is (the store's own reader leaves the partition alone). */
  child: 'running' | 'done' | 'failed' | null;
}

/** What the delegation needs of its ledger store. */
export interface DelegationHost {
  topic: string;
  instanceId: string;
  logger: Logger;
  local: () => LocalLedgers;
  /** Whether this restore is still the partition's (not revoked, not assigned again since). */
  isCurrent: (partition: number, state: Restoring) => boolean;
  /** The store's reader follows the partition again, from `state.position`. */
  handBack: (partition: number, state: Restoring, how: 'done' | 'failed') => void;
  conflict: (partition: number, conflict: LedgerConflict) => void;
  /** A child's committed progress moved a position: wake whoever waits for the reader. */
  progressed: () => void;
}

/** A child at work, and the restores it was given. */
interface RunningChild {
  stop: AbortController;
  states: Map<number, Restoring>;
  pid?: number;
  ended: Promise<void>;
}

/**
 * The restore children of one ledger store: which partitions of an
 * assignment go to a child, and handing each back to the store, at its
 * target or from its last checkpoint when the child fails or is killed.
 */
export class RestoreDelegation {
  private readonly children = new Set<RunningChild>();
  private runs = 0;
  private stopped = false;

  constructor(
    private readonly settings: ChildRestoreSettings | undefined,
    private readonly host: DelegationHost,
  ) {}

  /** Sends the largest of these fresh restores to a child process, when they are large enough (`partitionsForChild`). */
  delegate(created: ReadonlyMap<number, Restoring>): void {
    if (!this.settings || this.stopped) return;
    const gaps = new Map([...created].map(([p, s]) => [p, s.target - s.position]));
    const picked = partitionsForChild(gaps, this.settings.minRecords);
    if (picked.length === 0) return;
    const states = new Map(picked.flatMap((p) => (created.has(p) ? [[p, created.get(p) as Restoring] as const] : [])));
    for (const s of states.values()) s.child = 'running';
    const run = ++this.runs;
    const child: RunningChild = { stop: new AbortController(), states, ended: Promise.resolve() };
    this.children.add(child);
    const { host } = this;
    const current = (p: number): Restoring | undefined => {
      const s = states.get(p);
      return s && host.isCurrent(p, s) && s.child === 'running' ? s : undefined;
    };
    host.logger.info({ partitions: picked, records: picked.reduce((n, p) => n + (gaps.get(p) ?? 0n), 0n).toString(), run }, 'restoring ledgers in a child process');
    child.ended = restoreInChild({
      job: {
        connection: this.settings.connection,
        topic: host.topic,
        dir: host.local().dir,
        groupId: `amh-ledger-${host.instanceId}-restore-${run}`,
        partitions: [...states].map(([partition, s]) => ({ partition, from: s.position, target: s.target })),
        logLevel: host.logger.level,
      },
      logger: host.logger.child({ restoreChild: run }),
      signal: child.stop.signal,
      stallMs: this.settings.stallMs ?? 120_000,
      onStart: (pid) => (child.pid = pid),
      onProgress: (p, position, applied) => {
        const s = current(p);
        if (!s) return;
        s.applied += applied;
        if (position > s.position) s.position = position;
        if (s.position >= s.target) host.handBack(p, s, 'done');
        host.progressed();
      },
      onConflict: (p, c) => host.conflict(p, c),
    }).then((outcome) => this.ended(child, outcome, current));
  }

  /** Stops the children left with nothing the store still follows (after a revoke); what they committed stays, as a cache. */
  revoked(): void {
    for (const c of this.children) if (![...c.states].some(([p, s]) => this.host.isCurrent(p, s))) c.stop.abort();
  }

  /** Kills every child and waits for them to exit. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.children) c.stop.abort();
    await Promise.allSettled([...this.children].map((c) => c.ended));
  }

  /** Children started so far, and the process ids of those running now. */
  describe(): { started: number; running: number[] } {
    return { started: this.runs, running: [...this.children].flatMap((c) => (c.pid === undefined ? [] : [c.pid])) };
  }

  /** The child ended: what it did not hand back goes on in the store, from the checkpoint it committed. */
  private ended(child: RunningChild, outcome: ChildRestoreOutcome, current: (p: number) => Restoring | undefined): void {
    this.children.delete(child);
    const left = [...child.states.keys()].flatMap((p) => {
      const s = current(p);
      return s ? [[p, s] as const] : [];
    });
    if (!outcome.ok) {
      if (left.length > 0 && !this.stopped) {
        const partitions = left.map(([p]) => p);
        this.host.logger.warn({ reason: outcome.reason, partitions }, `ledger restore child failed: ${outcome.reason}; restoring the rest in this process from its checkpoints`);
      } else this.host.logger.info({ reason: outcome.reason }, 'ledger restore child stopped');
    }
    if (left.length === 0 || this.stopped) return;
    const local = this.host.local();
    local.refresh();
    for (const [p, s] of left) {
      const at = local.checkpoint(p);
      if (at !== undefined && at > s.position) s.position = at;
      this.host.handBack(p, s, outcome.ok ? 'done' : 'failed');
    }
    this.host.progressed();
  }
}

/**
 * Which partitions of an assignment restore in a child: the largest, until
 * what is left for this process is under `minRecords` records in all (none
 * when the whole assignment is). The gap of a partition is its high
 * watermark minus where its restore starts (checkpoint or low watermark).
 */
export function partitionsForChild(gaps: ReadonlyMap<number, bigint>, minRecords: number): number[] {
  let left = [...gaps.values()].reduce((sum, g) => sum + (g > 0n ? g : 0n), 0n);
  const picked: number[] = [];
  for (const [partition, gap] of [...gaps].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : a[0] - b[0]))) {
    if (left < BigInt(minRecords) || gap <= 0n) break;
    picked.push(partition);
    left -= gap;
  }
  return picked.sort((a, b) => a - b);
}
