import type { Check, Compare, Metrics, Target } from './row.js';

export type Verdict = 'pass' | 'FAIL' | 'n/a';
export interface Summary { min: number; median: number; max: number; n: number }
export interface RowResult {
  id: string;
  title: string;
  variants: string[];
  status: 'ok' | 'not run' | 'failed';
  reason?: string;
  samples: Record<string, Metrics[]>;
  compare: Compare[];
  checks: Check[];
  /** The row reversed its variants' order in every other repetition. */
  alternate?: boolean;
}
export interface CompareResult { subject: Summary; baseline: Summary; ratio: number; min: number; max: number; verdict: Verdict }
export interface ReportMeta {
  command: string; date: string; commit: string; cpus: number; cpuModel: string; ramGiB: string; platform: string;
  loadBefore: string; loadAfter: string; node: string; kafka: string; ansible: string; reps: number; quick: boolean;
}

export declare function unitOf(metric: string): string;
export declare function formatNumber(value: number): string;
export declare function formatValue(value: number, metric: string): string;
export declare function series(samples: Record<string, Metrics[]>, variant: string, metric: string): number[];
export declare function summary(values: readonly number[]): Summary;
export declare function meets(value: number, target: Target | undefined): Verdict;
export declare function formatTarget(target: Target | undefined, metric?: string): string;
export declare function compareOf(samples: Record<string, Metrics[]>, cmp: Compare): CompareResult;
export declare function checkOf(samples: Record<string, Metrics[]>, chk: Check): Summary & { verdict: Verdict };
export declare function metricsOf(result: RowResult): string[];
export declare function formatSummary(s: Summary, metric: string): string;
export declare function formatRatio(c: Pick<CompareResult, 'ratio' | 'min' | 'max'>): string;
export declare function summaryTable(results: readonly RowResult[]): string;
export declare function detailTable(result: RowResult): string;
export declare function tally(results: readonly RowResult[]): Record<Verdict | 'not run' | 'failed', number>;
export declare function repetitionsNote(result: RowResult, reps: number): string;
export declare function renderReport(results: readonly RowResult[], meta: ReportMeta): string;
export { median } from '../stats.mjs';
