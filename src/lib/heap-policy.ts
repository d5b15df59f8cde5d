import { setFlagsFromString } from 'node:v8';

/** What `applyHeapPolicy` set, for the start-up log line. */
export interface HeapPolicy {
  /** The old generation may grow to (1 + percent/100) x what survived the last full GC; null: V8's own heuristics. */
  heapGrowingPercent: number | null;
  /** The semi-space bound this process was started with (`--max-semi-space-size`, MiB), if any: it cannot be set later. */
  maxSemiSpaceMiB: number | null;
}

/**
 * The service's garbage-collection policy (README "Memory"). A queued event
 * lives for seconds, so most of what it allocates is promoted to V8's old
 * generation and dies there; V8's default growth (up to 4x the live heap
 * between full collections) let ~22 MiB of live data peak at ~130 MiB.
 * `runtime.heap_growing_percent` caps that growth; V8 reads the flag at every
 * full GC, so setting it after start-up takes effect (the semi-space size does
 * not: it goes on the node command line or in NODE_OPTIONS). Process-wide:
 * the launcher (`amh run`) calls it, not the Service.
 */
export function applyHeapPolicy(heapGrowingPercent: number, execArgv: readonly string[] = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)]): HeapPolicy {
  if (heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
  const semi = execArgv.map((a) => /^--max-semi-space-size=(\d+)$/.exec(a)?.[1]).find((v) => v !== undefined);
  return { heapGrowingPercent: heapGrowingPercent > 0 ? heapGrowingPercent : null, maxSemiSpaceMiB: semi === undefined ? null : Number(semi) };
}
