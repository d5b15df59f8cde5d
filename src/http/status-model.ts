import type { SliverEvent } from '../codec/types.js';
import type { ServiceEvents, TypedEmitter } from '../observability/events.js';

/** Longest text kept from a field (messages, reasons): the page shows the start, the logs have the rest. */
export const MAX_TEXT = 300;
/** Most in-flight operations listed (there are at most `consumer.concurrency`; this only guards memory). */
export const MAX_IN_FLIGHT = 500;

export interface ProgressView {
  playbook: string;
  task: string;
  host: string | null;
  taskIndex: number;
  taskCount: number | null;
  /** Which playbook run of the operation (1-based), when the runner says. */
  step: number | null;
}

export interface InFlightRow {
  eventId: string;
  sliverId: string;
  resourceType: string;
  operation: string;
  startedAt: number;
  progress: ProgressView | null;
}

export interface ResultRow {
  eventId: string;
  sliverId: string;
  resourceType: string;
  operation: string;
  outcome: string;
  message: string;
  durationMs: number;
  finishedAt: number;
  replayed: boolean;
}

export interface DeadLetterRow {
  topic: string;
  partition: number;
  offset: string;
  reason: string;
  at: number;
}

export interface DriftRow {
  sliverId: string;
  resourceType: string;
  kind: string;
  observed: string;
  differences: string[];
  detectedAt: number;
  /** `RECREATE OK`, ... for a repair's report; null for a detection. */
  repair: string | null;
}

export interface PartitionRow {
  partition: number;
  paused: boolean;
  lag: number | null;
  uncommitted: number;
  ledgersRestored: boolean;
}

export interface StatusHeader {
  instance: string;
  state: string;
  ready: boolean;
  reasons: string[];
  queued: number;
}

/** What the status page shows: plain data, every string as the service saw it (the page renders text, never markup). */
export interface StatusSnapshot extends StatusHeader {
  version: number;
  generatedAt: number;
  totals: Record<string, number>;
  inFlight: InFlightRow[];
  results: ResultRow[];
  deadLetters: DeadLetterRow[];
  /** Recent drift reports (reconciliation), newest first. */
  drift: DriftRow[];
  partitions: PartitionRow[];
}

export interface StatusModelOptions {
  events: TypedEmitter<ServiceEvents>;
  /** How many recent results and dead letters to keep (`http.recent`). */
  recent: number;
  header: () => StatusHeader;
  partitions: () => PartitionRow[];
  now?: () => number;
}

/** A string from an event cut to MAX_TEXT characters. */
export function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

function eventFields(event: SliverEvent): Pick<InFlightRow, 'eventId' | 'sliverId' | 'resourceType' | 'operation'> {
  return { eventId: clip(event.event_id), sliverId: clip(event.sliver_id), resourceType: clip(event.resource_type), operation: event.operation };
}

/**
 * The status page's model, fed by the service's typed events: operations
 * running now with their latest task, the last `recent` results, dead
 * letters and drift reports (older ones are dropped: memory stays bounded however long the
 * service runs), totals by outcome. Listeners hear of every change.
 */
export class StatusModel {
  private readonly inFlight = new Map<string, InFlightRow>();
  private readonly results: ResultRow[] = [];
  private readonly deadLetters: DeadLetterRow[] = [];
  private readonly drift: DriftRow[] = [];
  private readonly totals: Record<string, number> = {};
  private readonly listeners = new Set<() => void>();
  private readonly off: (() => void)[];
  private readonly now: () => number;
  private version = 0;

  constructor(private readonly o: StatusModelOptions) {
    this.now = o.now ?? Date.now;
    const { events } = o;
    this.off = [
      events.on('started', ({ event }) => {
        if (this.inFlight.size >= MAX_IN_FLIGHT) this.inFlight.delete(this.inFlight.keys().next().value as string);
        this.inFlight.set(event.event_id, { ...eventFields(event), startedAt: this.now(), progress: null });
        this.changed();
      }),
      events.on('progress', (p) => {
        const row = this.inFlight.get(p.event.event_id);
        if (!row) return;
        row.progress = {
          playbook: clip(p.playbook),
          task: clip(p.task),
          host: p.host === null ? null : clip(p.host),
          taskIndex: p.taskIndex,
          taskCount: p.taskCount,
          step: p.step ?? null,
        };
        this.changed();
      }),
      events.on('finished', ({ event }) => {
        if (this.inFlight.delete(event.event_id)) this.changed();
      }),
      events.on('result', ({ result, replayed }) => {
        this.inFlight.delete(result.event_id);
        this.totals[result.outcome] = (this.totals[result.outcome] ?? 0) + 1;
        push(this.results, this.o.recent, {
          eventId: clip(result.event_id),
          sliverId: clip(result.sliver_id),
          resourceType: clip(result.resource_type),
          operation: result.operation,
          outcome: result.outcome,
          message: clip(result.message),
          durationMs: Number(result.duration_ms),
          finishedAt: Number(result.finished_at),
          replayed,
        });
        this.changed();
      }),
      events.on('deadLettered', (d) => {
        push(this.deadLetters, this.o.recent, { topic: d.topic, partition: d.partition, offset: d.offset, reason: clip(d.reason), at: this.now() });
        this.changed();
      }),
      events.on('drift', ({ report }) => {
        push(this.drift, this.o.recent, {
          sliverId: clip(report.sliver_id ?? ''),
          resourceType: clip(report.resource_type),
          kind: report.kind,
          observed: report.observed,
          differences: report.differences.slice(0, 20).map(clip),
          detectedAt: Number(report.detected_at),
          repair: report.repair ? `${report.repair.action} ${report.repair.outcome}` : null,
        });
        this.changed();
      }),
      // Partition rows (ownership, pause, lag) change with these.
      events.on('assigned', () => this.changed()),
      events.on('backpressure', () => this.changed()),
      events.on('ledgerRestored', () => this.changed()),
    ];
  }

  /** Something outside the events changed what the page shows (a broker probe round). */
  changed(): void {
    this.version++;
    for (const listener of this.listeners) listener();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): StatusSnapshot {
    return {
      ...this.o.header(),
      version: this.version,
      generatedAt: this.now(),
      totals: { ...this.totals },
      inFlight: [...this.inFlight.values()].map((r) => ({ ...r, progress: r.progress && { ...r.progress } })),
      results: [...this.results],
      deadLetters: [...this.deadLetters],
      drift: this.drift.map((d) => ({ ...d, differences: [...d.differences] })),
      partitions: this.o.partitions(),
    };
  }

  detach(): void {
    for (const f of this.off) f();
    this.listeners.clear();
  }
}

/** Newest first, at most `max`. */
function push<T>(list: T[], max: number, item: T): void {
  list.unshift(item);
  if (list.length > max) list.length = max;
}
