import type { Admin } from 'kafkajs';
import type { Liveness } from '../state/store.js';

/**
 * An instance is alive while a member of the consumer group carries its id
 * in its client id. Answers are cached briefly: a waiting lane asks often.
 */
export function groupLiveness(admin: Admin, groupId: string, cacheMs = 2000): Liveness {
  let cached: { at: number; clientIds: string[] } | null = null;
  return async (owner) => {
    if (!cached || Date.now() - cached.at > cacheMs) {
      const { groups } = await admin.describeGroups([groupId]);
      cached = { at: Date.now(), clientIds: (groups[0]?.members ?? []).map((m) => m.clientId) };
    }
    return cached.clientIds.some((id) => id.endsWith(`/${owner}`));
  };
}
