export declare function median(values: readonly number[]): number;
export declare function summarize(values: readonly number[]): { min: number; median: number; max: number };
