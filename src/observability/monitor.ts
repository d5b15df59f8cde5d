import type { ZygoteStats } from '../ansible/index.js';
import type { Kafka, Producer } from 'kafkajs';
import type { ResolvedConfig } from '../config/index.js';
import { errorMessage } from '../errors/index.js';
import { HttpServer } from '../http/server.js';
import { StatusModel, type PartitionRow } from '../http/status-model.js';
import { BrokerProbe, lagOf } from './broker-probe.js';
import type { ServiceEvents, TypedEmitter } from './events.js';
import { liveness, readiness, type HealthInputs } from './health.js';
import type { Logger } from './logger.js';
import { createServiceMetrics, type ServiceMetrics } from './metrics.js';

/** What the monitor reads from the service, when asked (a scrape, a health check, a page refresh). */
export interface ServiceView {
  instanceId: string;
  state(): HealthInputs['state'];
  failure(): string | null;
  /** Owned partitions of the events topic. */
  owned(): number[];
  /** Owned partitions whose fetching is paused. */
  paused(): number[];
  /** Operations holding a slot now. */
  running(): number;
  /** Messages accepted and not yet at their fate (running ones included). */
  pending(): number;
  uncommitted(partition: number): number;
  /** Owned partitions whose ledgers are not restored yet. */
  restoring(): number[];
  runnerProblem(): string | null;
  /** The warm runner's zygotes (none when it is off). */
  warmZygotes(): ZygoteStats[];
}

export interface MonitorOptions {
  config: ResolvedConfig;
  events: TypedEmitter<ServiceEvents>;
  kafka: Kafka;
  logger: Logger;
  view: ServiceView;
  resourceTypes: readonly string[];
}

/**
 * Metrics, health and the status page for one service: listens to its typed
 * events, probes the broker on a supervised loop, and serves all of it on
 * `http.host:http.port` (unless `http.enabled` is false; metrics and health
 * are still kept, for `status()` and tests, the status page's model is not).
 * `stop()` is idempotent.
 */
export class Monitor {
  readonly metrics: ServiceMetrics;
  /** What the status page shows; none when `http.enabled` is false (nothing would read it, and it listens to every event). */
  readonly model: StatusModel | null;
  private readonly probe: BrokerProbe;
  private readonly http: HttpServer | null;
  private joined = false;
  private consumerDead: string | null = null;
  private producerConnected = false;
  private readonly off: (() => void)[] = [];
  private stopping: Promise<void> | null = null;

  constructor(private readonly o: MonitorOptions) {
    const { config, events, view } = o;
    const settings = config.http;
    this.probe = new BrokerProbe({
      kafka: o.kafka,
      topic: config.kafka.topics.events,
      groupId: config.kafka.group_id,
      intervalMs: settings.probe_interval,
      logger: o.logger.child({ component: 'broker-probe' }),
      onRound: () => this.model?.changed(),
    });
    this.metrics = createServiceMetrics({
      events,
      resourceTypes: o.resourceTypes,
      view: {
        running: () => view.running(),
        queued: () => Math.max(0, view.pending() - view.running()),
        owned: () => view.owned(),
        paused: () => view.paused(),
        lag: () => this.lag(),
        uncommitted: (p) => view.uncommitted(p),
        brokerReachable: () => this.probe.last?.ok ?? null,
        ready: () => this.readiness().status === 'ready',
        warmZygotes: () => view.warmZygotes(),
      },
    });
    // The page's model, only where the page is served.
    const model = settings.enabled
      ? new StatusModel({
          events,
          recent: settings.recent,
          header: () => {
            const ready = this.readiness();
            return { instance: view.instanceId, state: view.state(), ready: ready.status === 'ready', reasons: ready.reasons, queued: Math.max(0, view.pending() - view.running()) };
          },
          partitions: () => this.partitions(),
        })
      : null;
    this.model = model;
    this.off.push(
      events.on('assigned', () => {
        this.joined = true;
      }),
      events.on('consumerCrashed', ({ error, restart }) => {
        this.joined = false;
        if (!restart) this.consumerDead = errorMessage(error);
      }),
    );
    this.http = model
      ? new HttpServer({
          host: settings.host,
          port: settings.port,
          logger: o.logger.child({ component: 'http' }),
          endpoints: {
            metrics: async () => ({ contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }),
            liveness: () => this.liveness(),
            readiness: () => this.readiness(),
            snapshot: () => model.snapshot(),
            onChange: (listener) => model.onChange(listener),
          },
        })
      : null;
  }

  /** Where the HTTP endpoints listen (null when disabled or not started). */
  get address(): { host: string; port: number } | null {
    return this.http?.address ?? null;
  }

  /** Serves the endpoints: first thing at start-up, so /healthz answers (and /readyz says why not) while the service connects. */
  async start(): Promise<void> {
    if (!this.http) return;
    const { host, port } = await this.http.start();
    this.o.logger.info({ host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/` }, 'HTTP endpoints: /metrics /healthz /readyz and the status page');
  }

  /** Once the producer exists: its connection state, and the broker probe. */
  watch(producer: Pick<Producer, 'on' | 'events'>): void {
    this.off.push(
      producer.on(producer.events.CONNECT, () => {
        this.producerConnected = true;
      }),
      producer.on(producer.events.DISCONNECT, () => {
        this.producerConnected = false;
      }),
    );
    this.probe.start();
  }

  liveness() {
    return liveness(this.inputs());
  }

  readiness() {
    return readiness(this.inputs());
  }

  /** Idempotent: every call returns the first call's promise. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.allSettled([this.probe.stop(), this.http?.stop()]);
      for (const f of this.off) f();
      this.model?.detach();
      this.metrics.detach();
    })();
    return this.stopping;
  }

  private inputs(): HealthInputs {
    const { view } = this.o;
    const last = this.probe.last;
    return {
      now: Date.now(),
      state: view.state(),
      failure: view.failure(),
      joined: this.joined,
      consumerDead: this.consumerDead,
      producerConnected: this.producerConnected,
      broker: last && { ok: last.ok, at: last.at, ...(last.error ? { error: last.error } : {}) },
      restoring: view.restoring(),
      runnerProblem: view.runnerProblem(),
      loops: [this.probe.beat()],
      probeIntervalMs: this.o.config.http.probe_interval,
    };
  }

  private lag(): Map<number, number> {
    const offsets = this.probe.last?.offsets;
    const lag = new Map<number, number>();
    if (!offsets) return lag;
    for (const p of this.o.view.owned()) {
      const o = offsets.get(p);
      if (o) lag.set(p, lagOf(o));
    }
    return lag;
  }

  private partitions(): PartitionRow[] {
    const { view } = this.o;
    const paused = new Set(view.paused());
    const restoring = new Set(view.restoring());
    const lag = this.lag();
    return view.owned().map((partition) => ({
      partition,
      paused: paused.has(partition),
      lag: lag.get(partition) ?? null,
      uncommitted: view.uncommitted(partition),
      ledgersRestored: !restoring.has(partition),
    }));
  }
}
