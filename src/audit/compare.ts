import type { SliverLedger } from '../codec/types.js';
import type { Listed, Orphan, OrphanReason } from './types.js';

/** Event ids of orphan repairs start with this: their replies are told apart from the AM's own events by it. */
export const REPAIR_EVENT_PREFIX = 'amh-orphan-repair:';

export function isRepairEvent(eventId: string): boolean {
  return eventId.startsWith(REPAIR_EVENT_PREFIX);
}

/**
 * Whether a ledger owns its sliver's substrate objects: it exists, and either an operation is in flight on
 * it (a create may be making the object right now) or the sliver is not closed and one of its answers was
 * to an event of the AM. A ledger whose only answers failed still owns what a failed create left (the next
 * CLOSE of that sliver removes it); a ledger that holds only orphan repairs (one that failed leaves the
 * sliver open) owns nothing.
 */
export function owns(ledger: SliverLedger | undefined): boolean {
  if (ledger === undefined) return false;
  if (ledger.in_flight !== null) return true;
  if (ledger.closed_at !== 0) return false;
  const answered = [...ledger.entries, ...ledger.digests];
  return answered.length === 0 || answered.some((a) => !isRepairEvent(a.event_id));
}

/** The key an object's reports and repairs go by: its sliver id, or `<resource_type>:<name>` when it names none. */
export function orphanKey(listed: Listed): string {
  return listed.object.sliverId ?? `${listed.object.resourceType}:${listed.object.name}`;
}

/**
 * Pure: the listed objects no ledger owns, among those `inScope` (by key: the partitions an instance owns).
 * `ledgerOf` reads a sliver's ledger.
 */
export function findOrphans(
  listed: readonly Listed[],
  ledgerOf: (sliverId: string) => SliverLedger | undefined,
  inScope: (key: string) => boolean = () => true,
): Orphan[] {
  const orphans: Orphan[] = [];
  for (const item of listed) {
    const key = orphanKey(item);
    if (!inScope(key)) continue;
    const sliverId = item.object.sliverId;
    const ledger = sliverId === null ? undefined : ledgerOf(sliverId);
    if (owns(ledger)) continue;
    const reason: OrphanReason = sliverId === null ? 'no-sliver' : ledger ? 'closed' : 'no-ledger';
    orphans.push({ ...item, reason, ledger: ledger ?? null, key });
  }
  return orphans;
}

/** One line per orphan for people and for the drift record's `differences`. */
export function describeOrphan(orphan: Orphan): string {
  const what = `${orphan.object.resourceType} ${orphan.object.name}`;
  switch (orphan.reason) {
    case 'no-sliver':
      return `${what} exists on the substrate and names no sliver`;
    case 'no-ledger':
      return `${what} of sliver ${orphan.object.sliverId} exists, but no ledger knows that sliver`;
    case 'closed':
      return `${what} of sliver ${orphan.object.sliverId} exists, but the sliver was closed at ${new Date(orphan.ledger?.closed_at ?? 0).toISOString()}`;
  }
}
