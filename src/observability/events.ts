import { EventEmitter } from 'node:events';
import type { PlaybookOutcome } from '../ansible/types.js';
import type { DriftReport, SliverEvent, SliverResult } from '../codec/types.js';

/** What happens inside the service, for metrics and tests to listen to instead of parsing logs. */
export interface ServiceEvents {
  /** An event was decoded and queued for its sliver. */
  queued: [{ event: SliverEvent; topic: string; partition: number; offset: string }];
  /** Its handler started running (it had its sliver's turn and a global slot). */
  started: [{ event: SliverEvent }];
  /**
   * A playbook of its operation started a task (live progress: task n of m, on which host). `playbook` is the
   * file name; `step` the 1-based number of that playbook run within the operation (a VM create runs about nine,
   * cleanups count too); `play` the play's name.
   */
  progress: [
    {
      event: SliverEvent;
      playbook: string;
      task: string;
      host: string | null;
      taskIndex: number;
      taskCount: number | null;
      step?: number;
      play?: string;
    },
  ];
  /** Its handler finished (any outcome), before the answer is recorded and published. */
  finished: [{ event: SliverEvent; result: SliverResult }];
  /** One ansible-playbook run ended (of any operation, cleanups included). */
  playbookRun: [{ playbook: string; outcome: PlaybookOutcome; exitCode: number | null; durationMs: number; via?: 'spawn' | 'warm' }];
  /**
   * The warm runner: a run was spawned although it asked for a zygote (`fallback`: none ready, or one did not
   * answer), a zygote became ready, or one exited (`expected`: at shutdown).
   */
  warmRunner: [
    | { kind: 'fallback'; reason: string }
    | { kind: 'zygoteReady'; slot: number; rssBytes: number | null; importSeconds: number }
    | { kind: 'zygoteExit'; slot: number; expected: boolean }
  ];
  /** Its result was published on the reply topic. */
  result: [{ result: SliverResult; replayed: boolean; topic: string; partition: number; offset: string }];
  /** An undecodable message was sent to the dead-letter topic. */
  deadLettered: [{ topic: string; partition: number; offset: string; reason: string }];
  /** Fetching was paused or resumed because of the queue bound. */
  backpressure: [{ paused: boolean; queued: number }];
  /** The service must stop (e.g. the dead-letter limit was passed). */
  fatal: [{ error: Error }];
  /** A step of a message failed transiently and will be retried while its partition waits. */
  retry: [{ what: string; error: unknown }];
  /** A rebalance changed the partitions this instance owns. */
  assigned: [{ added: number[]; revoked: number[]; owned: number[] }];
  /** The ledgers of a partition were restored after it was assigned (`applied` changelog records). */
  ledgerRestored: [{ partition: number; durationMs: number; applied: number }];
  /** The Kafka consumer crashed; with `restart` kafkajs rejoins by itself (a new `assigned` follows). */
  consumerCrashed: [{ error: Error; restart: boolean }];
  /** An orphan audit pass ended: orphans reported, handlers that could not be listed, outcomes of the repairs it ran. */
  audited: [{ orphans: number; failures: number; repairs: string[] }];
  /** Offsets were committed. */
  committed: [{ topic: string; partition: number; offset: string }];
  /**
   * The reconciler looked at an active sliver: `in_sync`, `drift`, `failed` (the probe did not answer OK),
   * `busy` (an event queued or running, or another instance's lease: not probed), `interrupted` (an event arrived
   * during the probe, whose result was dropped), `preempted` (an event of another sliver needed its slot: the probe
   * was killed and the sliver is probed at the next pass) or `unsupported` (its handler has no probe, or the applied event
   * was not kept).
   */
  probed: [{ sliverId: string; resourceType: string; outcome: ProbeOutcome; durationMs: number }];
  /** A drift report was made (and published on the drift topic, when that worked); `repair` set for a repair's report. */
  drift: [{ report: DriftReport }];
}

export type ProbeOutcome = 'in_sync' | 'drift' | 'failed' | 'busy' | 'interrupted' | 'preempted' | 'unsupported';

export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly emitter = new EventEmitter();

  on<K extends keyof Events & string>(name: K, listener: (...args: Events[K]) => void): () => void {
    this.emitter.on(name, listener as (...args: unknown[]) => void);
    return () => this.emitter.off(name, listener as (...args: unknown[]) => void);
  }

  emit<K extends keyof Events & string>(name: K, ...args: Events[K]): void {
    this.emitter.emit(name, ...args);
  }
}
