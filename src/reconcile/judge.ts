import type { AvroCodec } from '../codec/codec.js';
import type { DriftReport, SliverEvent, SliverLedger, SliverResult, SliverState } from '../codec/types.js';
import { appliedReply } from '../state/ledger.js';
import { compare, expectedOf, type Comparison } from './compare.js';

/** What a sliver's ledger says was applied: the event and the state its reply reported. */
export interface Applied {
  event: SliverEvent;
  state: SliverState | null;
}

/** The applied event and state of a ledger, or null when it has none to probe against. */
export async function appliedOf(codec: AvroCodec, ledger: SliverLedger): Promise<Applied | null> {
  if (!ledger.applied?.event) return null;
  const event = (await codec.decode('event', ledger.applied.event)).value;
  const reply = appliedReply(ledger);
  const state = reply ? ((await codec.decode('result', reply)).value.sliver ?? null) : null;
  return { event, state };
}

/** The PROBE of an applied event (same sliver and spec; an id of its own). */
export function probeEventOf(applied: SliverEvent, at: number): SliverEvent {
  return { ...applied, operation: 'PROBE', event_id: `amh-probe:${applied.event_id}:${at}`, previous_node_sliver: null, previous_network_sliver: null, poa: null };
}

/**
 * Judges a probe's answer against what was applied: null when in sync, else
 * the drift report (unpublished, without repair). The one place the
 * reconciler and `amh audit` turn a probe into a drift record.
 */
export function judge(
  ledger: SliverLedger,
  applied: Applied,
  probed: Pick<SliverResult, 'sliver'> & { sliver: SliverState },
  meta: { handler: string; instanceId: string; now: number },
): { verdict: Comparison; report: DriftReport } | null {
  const expected = expectedOf(applied.event, applied.state);
  const verdict = compare(expected, probed.sliver);
  if (verdict.differences.length === 0) return null;
  return {
    verdict,
    report: {
      kind: 'DRIFT',
      sliver_id: ledger.sliver_id,
      slice_id: applied.event.slice_id,
      resource_type: applied.event.resource_type,
      handler: meta.handler,
      observed: verdict.observed,
      differences: verdict.differences,
      expected: JSON.stringify(expected),
      found: JSON.stringify(probed.sliver),
      applied_event_id: ledger.applied?.event_id ?? null,
      applied_sequence: ledger.applied?.sequence ?? null,
      detected_at: meta.now,
      instance: meta.instanceId,
      repair: null,
    },
  };
}
