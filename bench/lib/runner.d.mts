import type { Metrics, Row } from './row.js';
import type { RowResult } from './report.mjs';

export interface BrokenRow { id: string; title: string; broken: string }
export interface RunOptions { quick: boolean; reps: number; brokers: string[]; repo: string; log: (line: string) => void; timeoutMs?: number }

export declare function within<T>(promise: T | Promise<T>, ms: number | undefined, what: string): Promise<T>;

export declare function rowProblems(row: unknown): string[];
export declare function repsOf(row: Pick<Row, 'minReps'>, reps: number): number;
export declare function orderOf(row: Pick<Row, 'variants' | 'alternate'>, rep: number): string[];
export declare function discover(dir: string): Promise<Array<Row | BrokenRow>>;
export declare function select<R extends { id: string }>(rows: R[], only: readonly string[] | undefined): R[];
export declare function runRow(
  row: Row | BrokenRow,
  opts: RunOptions,
  onMeasured?: (variant: string, rep: number, metrics: Metrics) => void,
): Promise<RowResult>;
