import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyPartitioner } from '../kafka/partition-of.js';
import { createCore, type CoreDeps } from '../core.js';
import { verifyKafkaAccess } from '../kafka/security.js';
import { childRestore } from '../service.js';
import { PartitionedLedgerStore } from '../state/partitioned-store.js';
import { OrphanAuditor } from './auditor.js';
import { driftPass } from './drift-pass.js';
import { probeSlots } from '../reconcile/schedule.js';
import type { AuditReport, DriftProvider } from './types.js';

export interface AuditNowOptions {
  /** The drift pass to add; default: every active sliver probed once (audit/drift-pass.ts). */
  drift?: DriftProvider;
  signal?: AbortSignal;
}

/**
 * `amh audit`: one audit over every partition, now. Restores every ledger read-only from the state topic
 * into a temporary store (nothing is written to the topic, and the service's own `runtime.ledger_dir` is
 * not touched), lists every handler's substrate, and reports orphans and drift (each active sliver probed once, nothing published or repaired).
 * Changes nothing anywhere.
 */
export async function auditNow(deps: CoreDeps, options: AuditNowOptions = {}): Promise<AuditReport> {
  const { config, logger } = deps;
  const core = createCore({ ...deps, instanceId: deps.instanceId ?? `audit-${process.pid}-${Date.now().toString(36)}` });
  const signal = options.signal ?? new AbortController().signal;
  await verifyKafkaAccess(config.kafka, {
    clientId: `${config.kafka.client_id}/${core.instanceId}`,
    logger,
    deadlineMs: config.kafka.startup_timeout,
    signal,
    ...(deps.socketFactory ? { socketFactory: deps.socketFactory } : {}),
  });
  const dir = mkdtempSync(join(tmpdir(), 'amh-audit-'));
  // Never connected: the store writes nothing unless asked to, and an audit never asks.
  const producer = core.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: KeyPartitioner });
  const store = new PartitionedLedgerStore({
    kafka: core.kafka,
    dir,
    producer,
    codec: core.codec,
    topic: config.kafka.topics.state,
    instanceId: core.instanceId,
    logger,
    restoreInChild: childRestore(config, core),
  });
  try {
    await core.warmPool?.start(); // listings and probes run warm as the service's would (spawned until a zygote is ready)
    await store.start();
    const partitions = Array.from({ length: store.partitionCount }, (_, p) => p);
    await store.assign(partitions);
    const auditor = new OrphanAuditor({
      registry: core.registry,
      runner: core.runner,
      killGraceMs: config.runtime.kill_grace,
      logger,
      instanceId: core.instanceId,
      ledgers: store,
      partitionCount: store.partitionCount,
      // Drift too, judged as the service's reconciler judges it, unless the caller brings its own pass.
      drift:
        options.drift ??
        driftPass({
          core,
          ledgers: store,
          concurrency: probeSlots(config.consumer.concurrency, config.reconcile.share),
          topic: config.kafka.topics.events,
          logger,
        }),
    });
    return (await auditor.audit(partitions, signal)).report;
  } finally {
    await store.stop();
    await core.warmPool?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
