import type { KafkaConnection } from '../kafka/client.js';
import type { LedgerConflict } from './changelog-apply.js';

/**
 * What the ledger store and its bulk restore child (restore-child.ts) say to
 * each other over the IPC channel (Node's `advanced` serialization: bigints
 * and Buffers cross as they are). One job per child; the child reports after
 * every committed transaction, so whatever it reported is in the local store.
 */

export interface RestoreJob {
  /** The service's own client options (kafka/client.ts), so the child connects as the service does. */
  connection: KafkaConnection;
  topic: string;
  /** The local store (LMDB) the parent has open: the child writes into it. */
  dir: string;
  /** The child's own consumer group (it reads with kafkajs, which has no group-less consumer). */
  groupId: string;
  /** Each partition from its checkpoint (or the topic's low watermark) to the high watermark when it was assigned. */
  partitions: { partition: number; from: bigint; target: bigint }[];
  /** pino level for the child's own log lines (they come back as `log` messages). */
  logLevel: string;
}

export type ChildMessage =
  /** A transaction committed: the partition's ledgers and checkpoint `position` are in the local store. */
  | { type: 'progress'; partition: number; position: bigint; applied: number }
  /** A superseded writer's record seen (and ignored) in a committed range: the parent re-asserts its own. */
  | { type: 'conflict'; partition: number; conflict: LedgerConflict }
  /** One pino line of the child's logger, for the parent's. */
  | { type: 'log'; line: string }
  /** Every partition reached its target. */
  | { type: 'done' }
  /** The child gives up (it exits non-zero right after). */
  | { type: 'failed'; message: string };

export type ParentMessage = { type: 'job'; job: RestoreJob };
