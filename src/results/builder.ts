import type { HostStats } from '../ansible/types.js';
import type { Outcome, PoaResult, SliverEvent, SliverResult, SliverState } from '../codec/types.js';

/**
 * Reference-compatible result codes: 0 OK, -1 exception; the other
 * outcomes get their own negative codes so old consumers still see "not OK".
 */
export const RESULT_CODES: Record<Outcome, number> = {
  OK: 0,
  FAILED: -1,
  REJECTED: -2,
  TIMED_OUT: -3,
  CANCELLED: -4,
  STALE: -5,
};

export interface ResultFields {
  outcome: Outcome;
  message: string;
  errorCode?: string | null;
  failedStep?: string | null;
  sliver?: Partial<SliverState> | null;
  poa?: PoaResult | null;
  hostStats?: readonly HostStats[];
  startedAt: number;
  finishedAt: number;
  attempts?: number;
  handler?: string;
}

export function emptySliverState(): SliverState {
  return {
    instance_name: null,
    management_ip: null,
    worker: null,
    observed: 'UNKNOWN',
    details: null,
    components: [],
    interfaces: [],
    labels: {},
  };
}

/** The reply for `event`. Pure: the caller supplies timings and outcome. */
export function buildResult(event: SliverEvent, fields: ResultFields): SliverResult {
  return {
    event_id: event.event_id,
    sliver_id: event.sliver_id,
    slice_id: event.slice_id,
    resource_type: event.resource_type,
    operation: event.operation,
    outcome: fields.outcome,
    result_code: RESULT_CODES[fields.outcome],
    message: fields.message,
    error_code: fields.errorCode ?? null,
    failed_step: fields.failedStep ?? null,
    sequence: event.sequence,
    sliver: fields.sliver ? { ...emptySliverState(), ...fields.sliver } : null,
    poa: fields.poa ?? null,
    started_at: fields.startedAt,
    finished_at: fields.finishedAt,
    duration_ms: Math.max(0, fields.finishedAt - fields.startedAt),
    attempts: fields.attempts ?? 1,
    host_stats: [...(fields.hostStats ?? [])],
    handler: fields.handler ?? '',
    trace_id: event.trace_id ?? null,
  };
}

/** Sum per-host stats over several playbook runs of one operation. */
export function mergeHostStats(into: Map<string, HostStats>, stats: readonly HostStats[]): void {
  for (const s of stats) {
    const prev = into.get(s.host);
    if (!prev) {
      into.set(s.host, { ...s });
      continue;
    }
    for (const key of ['ok', 'changed', 'failures', 'unreachable', 'skipped', 'rescued', 'ignored'] as const) {
      prev[key] += s[key];
    }
  }
}
