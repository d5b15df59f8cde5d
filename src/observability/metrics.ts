import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ZygoteStats } from '../ansible/index.js';
import type { ServiceEvents, TypedEmitter } from './events.js';

/** What the gauges read when Prometheus scrapes (nothing is sampled between scrapes). */
export interface MetricsView {
  /** Operations whose handler runs now (holding a slot). */
  running(): number;
  /** Messages accepted and not yet at their fate, minus those running. */
  queued(): number;
  /** Partitions of the events topic this instance owns. */
  owned(): number[];
  /** Owned partitions whose fetching is paused (queue bound, shutdown). */
  paused(): number[];
  /** Consumer lag per owned partition from the last broker probe (end offset minus committed offset). */
  lag(): ReadonlyMap<number, number>;
  /** Offsets taken in past the last commit, per partition. */
  uncommitted(partition: number): number;
  /** Last broker probe: true reachable, false not, null none yet. */
  brokerReachable(): boolean | null;
  /** What /readyz answers now. */
  ready(): boolean;
  /** The warm runner's zygotes (none when it is off). */
  warmZygotes?(): ZygoteStats[];
}

/** Run durations from a second to an hour (the default operation timeout is 15 minutes). */
export const RUN_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600];
const RESTORE_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];

/** Steps retried while a partition waits (the `what` of the `retry` event); anything else counts as `other`. */
const RETRY_STEPS: Record<string, string> = {
  decoding: 'decode',
  'restoring the ledgers': 'ledger_restore',
  'claiming the lease': 'lease_claim',
  'releasing the lease': 'lease_release',
  'recording the answer': 'ledger_record',
  'publishing the reply': 'reply',
  'publishing the dead letter': 'dead_letter',
};

export interface ServiceMetrics {
  readonly registry: Registry;
  /** Stops listening to the service's events. */
  detach(): void;
}

export interface MetricsOptions {
  events: TypedEmitter<ServiceEvents>;
  view: MetricsView;
  /**
   * Resource types the handlers serve. The type of an event is tenant input: any other value is counted as
   * `unknown`, so a stream of made-up types cannot create new time series. No label ever carries an id.
   */
  resourceTypes: readonly string[];
  /** Default: the Node.js process metrics too (off in unit tests that compare whole outputs). */
  processMetrics?: boolean;
}

/**
 * The service's Prometheus metrics (prefix `amh_`) in a registry of their
 * own, fed by the service's typed events; gauges read the view on scrape.
 * The README's metrics list documents each.
 */
export function createServiceMetrics(options: MetricsOptions): ServiceMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'amh_' });
  const known = new Set(options.resourceTypes);
  const type = (t: string): string => (known.has(t) ? t : 'unknown');
  const { view } = options;

  const consumed = new Counter({ name: 'amh_events_consumed_total', help: 'Events decoded from the events topic, by operation', labelNames: ['operation'], registers });
  const runs = new Counter({
    name: 'amh_handler_runs_total',
    help: 'Handler runs that finished, by resource type, operation and outcome',
    labelNames: ['resource_type', 'operation', 'outcome'],
    registers,
  });
  const runSeconds = new Histogram({
    name: 'amh_handler_run_duration_seconds',
    help: 'Duration of handler runs (all their playbooks and retries), by resource type, operation and outcome',
    labelNames: ['resource_type', 'operation', 'outcome'],
    buckets: RUN_BUCKETS,
    registers,
  });
  const replies = new Counter({
    name: 'amh_replies_total',
    help: 'Replies published on the reply topic, by outcome; replayed = a stored reply re-published for a duplicate',
    labelNames: ['outcome', 'replayed'],
    registers,
  });
  const playbooks = new Counter({
    name: 'amh_playbook_runs_total',
    help: 'ansible-playbook runs, by playbook file, outcome and exit code (none = killed or never started)',
    labelNames: ['playbook', 'outcome', 'exit_code'],
    registers,
  });
  const playbookSeconds = new Histogram({ name: 'amh_playbook_run_duration_seconds', help: 'Duration of ansible-playbook runs, by playbook file', labelNames: ['playbook'], buckets: RUN_BUCKETS, registers });
  const deadLetters = new Counter({ name: 'amh_dead_letters_total', help: 'Undecodable messages sent to the dead-letter topic', registers });
  const retries = new Counter({ name: 'amh_step_retries_total', help: 'Transient failures retried while the partition waits, by step', labelNames: ['step'], registers });
  const replyFailures = new Counter({ name: 'amh_reply_publish_failures_total', help: 'Failed attempts to publish a reply (each is retried while the partition waits)', registers });
  const restores = new Histogram({ name: 'amh_ledger_restore_duration_seconds', help: 'Time to restore the ledgers of a partition after it was assigned', buckets: RESTORE_BUCKETS, registers });
  const probes = new Counter({
    name: 'amh_reconcile_probes_total',
    help: 'Reconciliation probes of active slivers, by outcome (in_sync, drift, failed, busy, interrupted, preempted, unsupported)',
    labelNames: ['outcome'],
    registers,
  });
  const drift = new Counter({ name: 'amh_drift_reports_total', help: 'Drift reports made, by kind (DRIFT, ORPHAN) and resource type', labelNames: ['kind', 'resource_type'], registers });
  const repairs = new Counter({ name: 'amh_repairs_total', help: 'Repairs of drift, by action (RECREATE, DELETE) and outcome (SKIPPED: not run)', labelNames: ['action', 'outcome'], registers });
  const crashes = new Counter({ name: 'amh_consumer_crashes_total', help: 'Kafka consumer crashes, by whether kafkajs restarted it', labelNames: ['restart'], registers });

  new Gauge({ name: 'amh_operations_in_flight', help: 'Operations whose handler runs now', registers, collect() { this.set(view.running()); } });
  new Gauge({ name: 'amh_operations_queued', help: 'Events accepted and waiting (for their sliver, a slot, a lease or the ledgers)', registers, collect() { this.set(view.queued()); } });
  new Gauge({ name: 'amh_partitions_owned', help: 'Partitions of the events topic owned by this instance', registers, collect() { this.set(view.owned().length); } });
  new Gauge({ name: 'amh_partitions_paused', help: 'Owned partitions whose fetching is paused (queue bound or shutdown)', registers, collect() { this.set(view.paused().length); } });
  new Gauge({
    name: 'amh_consumer_lag',
    help: 'Messages behind the end of each owned partition (end offset minus committed offset), from the last broker probe',
    labelNames: ['partition'],
    registers,
    collect() {
      this.reset();
      for (const [partition, lag] of view.lag()) this.set({ partition: String(partition) }, lag);
    },
  });
  new Gauge({
    name: 'amh_uncommitted_offsets',
    help: 'Offsets of each owned partition taken in past its last commit (in flight, or done behind one that is)',
    labelNames: ['partition'],
    registers,
    collect() {
      this.reset();
      for (const partition of view.owned()) this.set({ partition: String(partition) }, view.uncommitted(partition));
    },
  });
  new Gauge({
    name: 'amh_broker_reachable',
    help: '1 when the last broker probe answered, 0 when it failed or none has finished yet',
    registers,
    collect() {
      this.set(view.brokerReachable() === true ? 1 : 0);
    },
  });
  const launches = new Counter({ name: 'amh_playbook_launches_total', help: 'ansible-playbook runs by how they started: spawn (a new process) or warm (forked from a zygote)', labelNames: ['via'], registers });
  const fallbacks = new Counter({
    name: 'amh_warm_runner_fallbacks_total',
    help: 'Runs that asked for the warm runner and were spawned: no_zygote (none ready) or fork_failed (one did not answer: killed, replaced)',
    labelNames: ['reason'],
    registers,
  });
  const zygoteExits = new Counter({ name: 'amh_warm_zygote_exits_total', help: 'Warm runner zygotes that exited unexpectedly (each is replaced after a backoff)', registers });
  new Gauge({
    name: 'amh_warm_zygote_rss_bytes',
    help: 'Resident memory of each warm runner zygote (shared with the runs it forks until they write to it); absent when off',
    labelNames: ['slot'],
    registers,
    collect() {
      this.reset();
      for (const z of view.warmZygotes?.() ?? []) if (z.rssBytes !== null) this.set({ slot: String(z.slot) }, z.rssBytes);
    },
  });
  new Gauge({
    name: 'amh_warm_zygotes_ready',
    help: 'Warm runner zygotes ready to fork runs (below runtime.warm_runner.pool_size while one is replaced)',
    registers,
    collect() {
      this.set((view.warmZygotes?.() ?? []).filter((z) => z.pid !== null).length);
    },
  });
  new Gauge({ name: 'amh_ready', help: '1 when /readyz answers ready', registers, collect() { this.set(view.ready() ? 1 : 0); } });

  const { events } = options;
  const off = [
    events.on('queued', ({ event }) => consumed.inc({ operation: event.operation })),
    events.on('finished', ({ event, result }) => {
      const labels = { resource_type: type(event.resource_type), operation: event.operation, outcome: result.outcome };
      runs.inc(labels);
      runSeconds.observe(labels, Number(result.duration_ms) / 1000);
    }),
    events.on('result', ({ result, replayed }) => replies.inc({ outcome: result.outcome, replayed: String(replayed) })),
    events.on('playbookRun', (run) => {
      playbooks.inc({ playbook: run.playbook, outcome: run.outcome, exit_code: run.exitCode === null ? 'none' : String(run.exitCode) });
      playbookSeconds.observe({ playbook: run.playbook }, run.durationMs / 1000);
      if (run.via) launches.inc({ via: run.via });
    }),
    events.on('warmRunner', (e) => {
      if (e.kind === 'fallback') fallbacks.inc({ reason: e.reason });
      else if (e.kind === 'zygoteExit' && !e.expected) zygoteExits.inc();
    }),
    events.on('deadLettered', () => deadLetters.inc()),
    events.on('retry', ({ what }) => {
      const step = RETRY_STEPS[what] ?? 'other';
      retries.inc({ step });
      if (step === 'reply') replyFailures.inc();
    }),
    events.on('ledgerRestored', ({ durationMs }) => restores.observe(durationMs / 1000)),
    events.on('consumerCrashed', ({ restart }) => crashes.inc({ restart: String(restart) })),
    events.on('probed', ({ outcome }) => probes.inc({ outcome })),
    events.on('drift', ({ report }) => {
      if (report.repair) repairs.inc({ action: report.repair.action, outcome: report.repair.outcome });
      else drift.inc({ kind: report.kind, resource_type: type(report.resource_type) });
    }),
  ];
  return { registry, detach: () => off.forEach((f) => f()) };
}
