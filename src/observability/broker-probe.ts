import type { Admin, Kafka } from 'kafkajs';
import { errorMessage } from '../errors/index.js';
import type { LoopBeat } from './health.js';
import type { Logger } from './logger.js';

/** Offsets of one partition of the events topic at the last probe. */
export interface PartitionOffsets {
  low: bigint;
  end: bigint;
  /** The group's committed offset; null when it has none. */
  committed: bigint | null;
}

export interface ProbeResult {
  ok: boolean;
  /** When the probe finished (ms since the epoch). */
  at: number;
  error?: string;
  /** From the last probe that answered. */
  offsets: ReadonlyMap<number, PartitionOffsets>;
}

export interface BrokerProbeOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  intervalMs: number;
  logger: Logger;
  /** After every round (the status page refreshes its partitions). */
  onRound?: (result: ProbeResult) => void;
}

/**
 * A supervised loop that asks the broker, every `intervalMs`, for the end
 * offsets of the events topic and the group's committed offsets: one cheap
 * round trip pair that both proves the broker answers (readiness notices a
 * broker that went away, and one that came back) and samples consumer lag.
 * Its own admin client does not retry: a probe that fails, or does not answer
 * within the interval, is a failed round, and the next round tries again.
 * Every round beats, so /healthz sees the loop going round.
 */
export class BrokerProbe {
  private admin: Admin | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pending: Promise<void> | null = null;
  private result: ProbeResult | null = null;
  private offsets = new Map<number, PartitionOffsets>();
  private lastBeatAt = 0;
  private stopping: Promise<void> | null = null;
  private wasOk: boolean | null = null;

  constructor(private readonly o: BrokerProbeOptions) {}

  get last(): ProbeResult | null {
    return this.result;
  }

  beat(): LoopBeat {
    return { name: 'broker_probe', lastBeatAt: this.lastBeatAt, intervalMs: this.o.intervalMs, ...(this.stopping ? { stopped: 'stopped with the service' } : {}) };
  }

  start(): void {
    if (this.timer || this.stopping) return;
    this.admin = this.o.kafka.admin({ retry: { retries: 0 } });
    this.schedule(0);
  }

  /** Idempotent: every call returns the first call's promise. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await this.pending;
      await this.admin?.disconnect().catch(() => undefined);
    })();
    return this.stopping;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.round(), delayMs);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    try {
      if (this.pending) {
        this.record({ ok: false, error: `the previous probe has not answered for over ${this.o.intervalMs} ms` });
      } else {
        // Never rejects (null, or why it failed): a probe that fails after its round gave up on it must not
        // become an unhandled rejection, which would end the process.
        const probe = this.probe().then(
          () => null,
          (err: unknown) => errorMessage(err),
        );
        this.pending = probe.then(() => {
          this.pending = null;
        });
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<string>((resolve) => {
          timer = setTimeout(resolve, this.o.intervalMs, `no answer within ${this.o.intervalMs} ms`);
        });
        const failure = await Promise.race([probe, late]);
        clearTimeout(timer);
        this.record(failure === null ? { ok: true } : { ok: false, error: failure });
      }
    } catch (err) {
      this.record({ ok: false, error: errorMessage(err) });
    } finally {
      this.lastBeatAt = Date.now();
      if (!this.stopping) this.schedule(this.o.intervalMs);
    }
  }

  private async probe(): Promise<void> {
    const admin = this.admin;
    if (!admin) return;
    await admin.connect();
    const [ends, groups] = await Promise.all([
      admin.fetchTopicOffsets(this.o.topic),
      admin.fetchOffsets({ groupId: this.o.groupId, topics: [this.o.topic] }),
    ]);
    const committed = new Map((groups[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    const next = new Map<number, PartitionOffsets>();
    for (const w of ends) {
      const c = committed.get(w.partition);
      next.set(w.partition, { low: BigInt(w.low), end: BigInt(w.high), committed: c === undefined || c < 0n ? null : c });
    }
    this.offsets = next;
  }

  private record(r: { ok: boolean; error?: string }): void {
    this.result = { ...r, at: Date.now(), offsets: this.offsets };
    if (this.wasOk !== r.ok) {
      if (r.ok) this.o.logger.info('broker probe answered');
      else this.o.logger.warn({ reason: r.error }, 'broker probe failed: not ready until the broker answers again');
      this.wasOk = r.ok;
    }
    this.o.onRound?.(this.result);
  }
}

/** Messages behind the end of a partition: end offset minus the committed offset (or the start of the log without one). */
export function lagOf(o: PartitionOffsets): number {
  const from = o.committed ?? o.low;
  return Math.max(0, Number(o.end - from));
}
