import { z } from 'zod';
import { duration } from './duration.js';
import { saslSchema, sslSchema } from './security.js';
import { httpUrl } from './url.js';

/**
 * The configuration file, `config/amh.yaml` by default. Every option is
 * documented here once, with its default. Durations accept `500ms`, `30s`,
 * `15m`, `2h`, `7d`. Relative paths are relative to the config file's folder.
 * Every key can also be set from the environment as `AMH_<PATH>` with `__`
 * between levels (`AMH_KAFKA__GROUP_ID`), see env.ts; the README's table of
 * keys is checked against this schema by test/unit/config/reference.test.ts.
 */
export const operationTimeouts = z
  .object({
    /** Fallback for operations without their own entry. */
    default: duration.default(15 * 60_000),
    REDEEM: duration.optional(),
    CLOSE: duration.optional(),
    MODIFY: duration.optional(),
    PROBE: duration.optional(),
    POA: duration.optional(),
    /** Limit for each cleanup playbook run after a failure, timeout or cancellation. */
    cleanup: duration.default(10 * 60_000),
  })
  .strict()
  .prefault({});

export const retryPolicy = z
  .object({
    /** Total attempts for failures classified transient (unreachable host, a step marked retriable); 1 = no retry. */
    attempts: z.number().int().min(1).default(3),
    /** First backoff delay; doubles per attempt up to `backoff_max`. */
    backoff_initial: duration.default(1_000),
    backoff_max: duration.default(30_000),
  })
  .strict()
  .prefault({});

/**
 * Repair of drifted slivers found by the reconciler (README "Reconciliation"), per handler and per kind of drift.
 * Off by default: a repair re-runs the last applied create, so an operator turns it on where that is safe.
 */
export const repairPolicy = z
  .object({
    /** Re-run the applied create (ensure-style REDEEM) of a sliver whose probe says MISSING. */
    missing: z.boolean().default(false),
    /** The same for one whose probe says DEGRADED, or whose components, interfaces or VLANs differ from what was applied. */
    degraded: z.boolean().default(false),
    /**
     * Delete an orphan (something the handler's substrate lists that no ledger owns: README "Orphan audit") once
     * it was first seen longer than `orphan_grace` ago, through the handler's own delete, in its sliver's lane,
     * under a lease.
     */
    orphans: z.boolean().default(false),
    /** How long an orphan must have been seen (by this instance, since it started) before it is deleted. */
    orphan_grace: duration.default(3_600_000),
  })
  .strict()
  .prefault({});

export const handlerEntry = z
  .object({
    /** Built-in plugin that implements this handler (`vm`, ...). Defaults to the entry's name. */
    plugin: z.string().optional(),
    /** Resource types routed to this handler. Defaults to the plugin's own list. */
    resource_types: z.array(z.string().min(1)).optional(),
    /** Per-operation timeouts; on expiry the playbook's process group is killed. */
    timeouts: operationTimeouts,
    /** Retries in place (the sliver's later events wait), only for transient failures. */
    retry: retryPolicy,
    /** What the service may repair for this handler (drifted slivers, orphans); nothing by default. */
    repair: repairPolicy,
    /** Run this handler's playbooks through the warm runner (true) or spawn them (false); null: `runtime.warm_runner.enabled`. */
    warm_runner: z.boolean().nullable().default(null),
  })
  // Plugin-specific keys (playbooks, runtime, ...) are validated by the plugin itself.
  .loose();

export const configSchema = z
  .object({
    kafka: z
      .object({
        /** Bootstrap servers. Env `AMH_KAFKA_BROKERS` (comma-separated) overrides. */
        brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1).default(['127.0.0.1:9092']),
        client_id: z.string().default('amh'),
        /** Consumer group of all `amh run` instances that share the work. Env `AMH_GROUP_ID` overrides. */
        group_id: z.string().default('amh-handlers'),
        topics: z
          .object({
            events: z.string().default('amh.events'),
            replies: z.string().default('amh.replies'),
            dead_letter: z.string().default('amh.events.dlq'),
            /** Compacted, keyed by sliver id, same partition count as `events`: the per-sliver ledgers. */
            state: z.string().default('amh.state'),
            /**
             * Live progress records (schemas/progress/v1.avsc, keyed by sliver id): one per task start of a running
             * operation's playbooks. Off (null) by default; created with the other topics when set.
             */
            progress: z.string().min(1).nullable().default(null),
            /**
             * Drift reports (schemas/drift/v1.avsc, keyed by sliver id): slivers whose probe differs from what was applied,
             * orphans found by an audit, and the repairs of either. Created with the other topics.
             */
            drift: z.string().min(1).default('amh.drift'),
          })
          .strict()
          .prefault({}),
        /** Create missing topics at start-up with this many partitions. */
        create_topics: z.boolean().default(true),
        partitions: z.number().int().min(1).default(3),
        replication_factor: z.number().int().min(1).default(1),
        /** Read from the beginning when the group has no committed offset. */
        from_beginning: z.boolean().default(true),
        /**
         * A consumer not heard from for this long leaves the group and its partitions move (bounds failover after a crash).
         * The broker's group.min.session.timeout.ms (6 s by default) is the lower limit.
         */
        session_timeout: duration.default(10_000),
        /** How often the consumer tells the group it is alive; well below `session_timeout`. */
        heartbeat_interval: duration.default(1_000),
        /**
         * How long start-up keeps retrying what a broker that is still starting (or a topic another
         * instance is creating) answers with transient errors: connecting, creating topics, waiting
         * for partition leaders. After that the service exits with the last error.
         */
        startup_timeout: duration.default(60_000),
        /** TLS to the brokers (README "Security"). Default `null`: plain TCP. */
        ssl: sslSchema.nullable().default(null),
        /** SASL login (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). Default `null`: none. */
        sasl: saslSchema.nullable().default(null),
        /**
         * Confluent Schema Registry, needed only to read Confluent-framed (`00` + id) messages. Env `AMH_SCHEMA_REGISTRY_URL`.
         * `url`: http(s) base URL with host (and port, if any). While the registry is down, slow, or answers 5xx/429,
         * such messages wait and are retried; an unknown schema id (404) or a non-Avro schema is dead-lettered.
         */
        schema_registry: z
          .object({ url: httpUrl.nullable().default(null) })
          .strict()
          .default({ url: null }),
        /**
         * The service's acknowledged writes (ledger marks, ledger answers, replies) of events finishing at about the same
         * moment go out in one produce request (README "Batched writes"). `linger`: how long the first write of an idle
         * batcher waits for others (0: only writes of the same tick); `max_records` / `max_bytes`: bounds of one request
         * (a larger single record goes alone; keep `max_bytes` below the broker's `message.max.bytes`).
         */
        write_batch: z
          .object({
            linger: duration.refine((ms) => ms <= 1_000, 'expected at most 1s').default(1),
            max_records: z.number().int().min(1).max(10_000).default(500),
            max_bytes: z.number().int().min(1024).default(1024 * 1024),
            max_in_flight: z.number().int().min(1).max(16).default(1),
          })
          .strict()
          .prefault({}),
        /**
         * Bounds of one fetch of the events topic (README "Memory"). The response is read into one buffer and every
         * record of it decoded before the first is handed over; what is not taken before fetching pauses
         * (`consumer.max_queued`) is dropped and fetched again later, so a fetch much larger than the queue's room is
         * garbage. `max_partition_bytes`: per partition; `max_bytes`: the whole response. A record batch larger than
         * either still comes (alone): they bound memory, not the largest event.
         */
        fetch: z
          .object({
            max_partition_bytes: z.number().int().min(1024).default(64 * 1024),
            max_bytes: z.number().int().min(1024).default(1024 * 1024),
          })
          .strict()
          .refine((f) => f.max_bytes >= f.max_partition_bytes, {
            message: 'max_bytes must be at least max_partition_bytes',
            path: ['max_bytes'],
          })
          .prefault({}),
      })
      .strict()
      .prefault({}),
    consumer: z
      .object({
        /** Global bound on operations running at once (different slivers). */
        concurrency: z.number().int().min(1).default(10),
        /** Pause fetching when this many events are queued or running; resume below half. */
        max_queued: z.number().int().min(1).default(1000),
        /** On shutdown, how long in-flight operations may run before they are cancelled. */
        shutdown_grace: duration.default(30_000),
        /**
         * Hard deadline of a shutdown, from its start: after the grace, cancelled operations and their cleanups get
         * until then; then every run is killed, a last bounded commit is sent, and the process exits.
         */
        shutdown_timeout: duration.default(60_000),
        /**
         * Lease of an instance on a sliver while it runs an operation, renewed every quarter of it. When an instance
         * dies, its slivers are taken over this long after its last renewal (not after a group session timeout).
         * An instance that cannot renew (cut off from the broker) stops its operation when the lease runs out, so it
         * is also the longest broker outage a running operation survives.
         */
        lease_ttl: duration.default(30_000),
        /** After a rebalance took a partition away, how long its running operations may go on before they are cancelled. */
        revoke_grace: duration.default(30_000),
        /** Events larger than this (encoded bytes) are answered REJECTED without running. */
        max_event_bytes: z.number().int().min(1024).default(512 * 1024),
        /** Replies larger than this are cut down (long fields cut, details dropped) with a note in the message; never lost. */
        max_reply_bytes: z.number().int().min(4096).default(256 * 1024),
        /** A sliver's ledger record is kept under this size by dropping its oldest answers (below the state topic's max.message.bytes). */
        max_ledger_bytes: z.number().int().min(8192).default(900 * 1024),
        /** More dead letters than `max` within `window` stops the consumer (a bad deploy must not dead-letter a topic). */
        dead_letter_limit: z
          .object({ max: z.number().int().min(1).default(100), window: duration.default(60_000) })
          .strict()
          .prefault({}),
        /** A CLOSE arriving while the same sliver's create runs cancels the create (which cleans up), then runs. */
        cancel_create_on_close: z.boolean().default(true),
        /**
         * Answered events remembered per sliver in the ledger, full replies and digests together (older duplicates
         * fall back to the stale rule).
         */
        ledger_entries: z.number().int().min(1).default(64),
        /**
         * Of those, the newest kept with their full reply (re-published byte for byte; at most `ledger_entries`); older
         * ones keep a digest only, and a duplicate of one gets a reply rebuilt from its outcome (`sliver: null`).
         */
        ledger_replies: z.number().int().min(1).default(4),
        /**
         * How long a closed sliver's ledger is kept after its CLOSE was answered OK; then it may be deleted. An event
         * older than this (by its `timestamp`) whose sliver has no ledger is answered STALE: keep it at least as long
         * as the events topic's retention.
         */
        ledger_retention: duration.default(7 * 86_400_000),
        /** How often the owner of a partition deletes (tombstones) the ledgers of slivers closed longer ago than the retention. */
        ledger_sweep_interval: duration.default(10 * 60_000),
      })
      .strict()
      .refine((c) => c.shutdown_timeout > c.shutdown_grace, {
        message: 'shutdown_timeout must be longer than shutdown_grace',
        path: ['shutdown_timeout'],
      })
      .refine((c) => c.ledger_retention >= 3_600_000, {
        message: 'ledger_retention must be at least 1h (an event older than it whose sliver has no ledger is answered STALE); make it at least the events topic retention',
        path: ['ledger_retention'],
      })
      .prefault({}),
    runtime: z
      .object({
        /** Parent of the per-run private directories (extra vars, inventory, temp). */
        work_dir: z.string().default('../var/runs'),
        /**
         * Local cache of the ledgers of the partitions this instance owns (an LMDB store per state topic), with the
         * changelog offset applied per partition, so a restart restores only what was written since.
         * Safe to delete: it is rebuilt from the state topic.
         */
        ledger_dir: z.string().default('../var/ledgers'),
        /**
         * When the partitions assigned to an instance have at least this many state-topic records to restore, the
         * largest of them are restored by a short-lived child process (the memory a bulk restore touches goes away
         * with it), until less than this is left for the service itself. `null`: always restore in the service.
         */
        ledger_restore_child_min_records: z.number().int().min(0).nullable().default(20_000),
        /**
         * Garbage collection of `amh run` (README "Memory"): V8's old generation may grow to (1 + this/100) times
         * what survived its last full collection before it collects again. V8's own heuristics (`0`) allow up to 4x,
         * most of it short-lived event data; a lower value collects more often (each full collection of the service's
         * ~25 MiB live heap takes milliseconds) and keeps the peak down.
         */
        heap_growing_percent: z.number().int().min(0).max(300).default(20),
        /** Keep run directories after the run (debugging). */
        keep_run_dirs: z.boolean().default(false),
        /** Between SIGTERM and SIGKILL of a playbook's process group. */
        kill_grace: duration.default(5_000),
        /** ansible-playbook to use; default: env AMH_ANSIBLE_PLAYBOOK, the project venv, then PATH. */
        ansible_playbook: z.string().nullable().default(null),
        /**
         * The warm playbook runner (README "Warm playbook runner"): Python processes (zygotes) that import Ansible once
         * and fork each run from there, instead of starting ansible-playbook anew. Same results; less CPU per run.
         */
        warm_runner: z
          .object({
            /** The default of every handler (each can say otherwise with `handlers.<name>.warm_runner`). Env `AMH_RUNTIME__WARM_RUNNER__ENABLED`. */
            enabled: z.boolean().default(true),
            /** Zygotes kept running (each about 60 MiB resident, shared with the runs it forks); runs go to the least busy. */
            pool_size: z.number().int().min(1).max(16).default(1),
            /** First wait before a dead zygote is replaced (runs are spawned meanwhile); doubles per failure up to `restart_backoff_max`. */
            restart_backoff: duration.default(1_000),
            restart_backoff_max: duration.default(30_000),
            /** A zygote that does not answer a run request within this is killed as wedged (and replaced); the run is spawned. */
            fork_timeout: duration.refine((ms) => ms >= 100, 'expected at least 100ms').default(5_000),
          })
          .strict()
          .refine((w) => w.restart_backoff_max >= w.restart_backoff, { message: 'restart_backoff_max must be at least restart_backoff', path: ['restart_backoff_max'] })
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * The HTTP endpoints: `/metrics` (Prometheus), `/healthz`, `/readyz` and the status page (`/`, live over `/events`).
     * The status page shows tenant data (sliver ids, results) without authentication: `host` defaults to the loopback
     * interface; a container that must be scraped from outside sets `0.0.0.0`.
     */
    http: z
      .object({
        /** Serve the endpoints at all. */
        enabled: z.boolean().default(true),
        /** Interface to listen on: an IP address or a host name. */
        host: z.string().regex(/^[A-Za-z0-9.:_-]+$/, 'expected an IP address or a host name').default('127.0.0.1'),
        /** TCP port; 0 picks a free one (logged at start-up). */
        port: z.number().int().min(0).max(65535).default(9100),
        /** How often the broker is probed (readiness) and consumer lag sampled; a probe not answered within it fails. */
        probe_interval: duration.refine((ms) => ms >= 100, 'expected at least 100ms').default(5_000),
        /** How many recent results and dead letters the status page keeps (memory stays bounded). */
        recent: z.number().int().min(1).max(1000).default(50),
      })
      .strict()
      .prefault({}),
    /** The orphan audit (README "Orphan audit"): each instance lists every handler's substrate and reports what no ledger owns. */
    audit: z
      .object({
        /**
         * How often each instance audits the partitions it owns (the first pass one interval after start-up);
         * `null`: never (`amh audit` still runs one on demand).
         */
        interval: duration.refine((ms) => ms >= 1_000, 'expected at least 1s').nullable().default(3_600_000),
      })
      .strict()
      .prefault({}),
    /**
     * Drift detection (README "Reconciliation"): each instance probes the slivers of its partitions whose last applied
     * REDEEM or MODIFY was answered OK, once per `interval`, spread evenly, and reports those that differ on
     * `kafka.topics.drift`. Probes change nothing; repair is per handler (`handlers.<name>.repair`).
     */
    reconcile: z
      .object({
        /** Run the reconciler at all. */
        enabled: z.boolean().default(true),
        /** Each active sliver is probed once per interval; the probes of an interval are spread evenly over it. */
        interval: duration.refine((ms) => ms >= 1_000, 'expected at least 1s').default(3_600_000),
        /** Share of `consumer.concurrency` that probes may hold at once (at least one slot); events always go first. */
        share: z.number().gt(0).max(1).default(0.2),
      })
      .strict()
      .prefault({}),
    logging: z
      .object({
        /** Env `AMH_LOG_LEVEL` overrides. Task starts are logged at info, task results at debug. */
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        /** `json` lines, `pretty` lines for a person, or `auto`: pretty on a terminal, JSON otherwise. Env `AMH_LOG_FORMAT` overrides. */
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .strict()
      .prefault({}),
    /** Handler registry: entry name -> plugin, resource types and plugin settings. */
    handlers: z.record(z.string(), handlerEntry).refine((h) => Object.keys(h).length > 0, 'at least one handler'),
  })
  .strict();

export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type HandlerEntry = z.output<typeof handlerEntry>;
export type OperationTimeouts = z.output<typeof operationTimeouts>;
export type RetryPolicy = z.output<typeof retryPolicy>;
export type RepairPolicy = z.output<typeof repairPolicy>;
