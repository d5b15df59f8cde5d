export declare function median(values: readonly number[]): number;
export declare function summarize(values: readonly number[]): { min: number; median: number; max: number };
export declare function percentile(values: ArrayLike<number>, p: number, options?: { sorted?: boolean }): number;
export declare function ratio(a: number, b: number, digits?: number): string;
export declare const MiB: number;
export declare function mib(bytes: number, digits?: number): string;
export declare function verdict(value: number, limit: number): 'pass' | 'FAIL' | 'n/a';
export declare function seededRandom(seed: number): () => number;
export declare function bootstrapRatio(
  a: readonly number[],
  b: readonly number[],
  options?: { stat?: (values: number[]) => number; iterations?: number; level?: number; seed?: number },
): { ratio: number; lo: number; hi: number };
