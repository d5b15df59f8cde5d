export interface Drain { events_per_s: number; cpu_us_per_event: number }
export declare function parseArgs(argv: readonly string[]): { builds: string[]; reps: number; warmup: number; events: number; help?: boolean };
export declare function compareDrains(
  before: readonly Drain[],
  after: readonly Drain[],
): { before: Drain; after: Drain; pairs: number[]; pairMedian: number };
