import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SliverResult } from '../../src/codec/types.js';
import { followUp, netEvent, port, startSimNetworkService, type SimNetworkService } from './sim-network.js';

type Json = Record<string, unknown>;

/** An endpoint on a sim switch port. */
export const at = (name: string, site: string, device: string, n: number, extra: Json = {}): Json => ({ name, site, device, port: port(n), ...extra });

/** One service type's lifecycle: what to create, what a MODIFY changes, and how the substrate shows it. */
export interface LifecycleCase {
  type: string;
  sliver: Json;
  /** Checks on the substrate's record right after the create. */
  created?: (record: Json) => void;
  /** Merged into the sliver for the MODIFY. */
  change: Json;
  /** Checks on the substrate's record after the MODIFY. */
  modified: (record: Json) => void;
}

/** A marker that must never leave the substrate: BGP MD5 keys are secrets. */
export const SECRET = 'md5-secret-value';

/**
 * Each case through create -> probe -> modify -> delete on the sim substrate
 * (real broker, real ansible-playbook). The types run side by side, one
 * sliver each, so a phase costs about one playbook run per type divided by
 * the concurrency.
 */
export function describeLifecycle(title: string, cases: LifecycleCase[]): void {
  describe(title, () => {
    let amh: SimNetworkService;
    const redeems = cases.map((k) => netEvent(k.type, k.sliver));
    const kase = (i: number) => cases[i] as LifecycleCase;
    const nameOf = (i: number) => `${kase(i).type.toLowerCase()}1-${String(redeems[i]?.sliver_id)}`;

    beforeAll(async () => {
      amh = await startSimNetworkService();
    });

    afterAll(async () => {
      await amh?.stop();
    });

    /** Runs `check` on each type's result; a failure names the type and its reply. */
    const eachType = (results: SliverResult[], check: (result: SliverResult, i: number) => void) =>
      results.forEach((result, i) => {
        try {
          check(result, i);
          expect(JSON.stringify(result)).not.toContain(SECRET);
        } catch (err) {
          throw new Error(`${kase(i).type}: ${(err as Error).message}\nreply: ${result.message}`);
        }
      });

    it('creates each: OK with the assigned VLANs in the reply and the service in the substrate', async () => {
      eachType(await amh.roundTrip(...redeems), (created, i) => {
        expect(created).toMatchObject({ outcome: 'OK', sliver: { observed: 'EXISTS', instance_name: nameOf(i) } });
        for (const ifc of created.sliver?.interfaces ?? []) expect(ifc.vlan).toBeGreaterThanOrEqual(100);
        const record = amh.substrate.service(nameOf(i)) ?? {};
        expect(record).toMatchObject({ state: 'ACTIVE', type: kase(i).type });
        expect(amh.substrate.vlansOf(nameOf(i))).toHaveLength(created.sliver?.interfaces.length ?? -1);
        kase(i).created?.(record);
      });
    });

    it('probes each: EXISTS', async () => {
      eachType(await amh.roundTrip(...redeems.map((e) => followUp(e, 'PROBE', 2))), (probed) => {
        expect(probed).toMatchObject({ outcome: 'OK', sliver: { observed: 'EXISTS' } });
      });
    });

    it('modifies each: the substrate reflects the change', async () => {
      eachType(await amh.roundTrip(...redeems.map((e, i) => followUp(e, 'MODIFY', 3, kase(i).change))), (modified, i) => {
        expect(modified).toMatchObject({ outcome: 'OK', sliver: { observed: 'EXISTS' } });
        kase(i).modified(amh.substrate.service(nameOf(i)) ?? {});
      });
    });

    it('deletes each: the substrate is clean', async () => {
      eachType(await amh.roundTrip(...redeems.map((e) => followUp(e, 'CLOSE', 4))), (closed, i) => {
        expect(closed).toMatchObject({ outcome: 'OK', sliver: { observed: 'MISSING' } });
        expect(amh.substrate.service(nameOf(i))).toBeUndefined();
        expect(amh.substrate.vlansOf(nameOf(i))).toEqual([]);
      });
    });
  });
}
