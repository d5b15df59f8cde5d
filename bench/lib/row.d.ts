// The contract between `npm run bench` (bench/index.mjs) and a row module in
// bench/rows/*.mjs. A module exports `rows: Row[]`. See bench/README.md.

/** Numeric results of one repetition of one variant: any keys. A unit is read from the key's suffix (see `unitOf`). */
export type Metrics = Record<string, number>;

/** Inclusive bounds; either may be left out. */
export interface Target {
  min?: number;
  max?: number;
}

export interface RowContext {
  /** `--quick`: use smaller sizes (the repetitions stay at least 3). */
  quick: boolean;
  reps: number;
  /** Kafka bootstrap servers (AMH_KAFKA_BROKERS, default 127.0.0.1:9092). */
  brokers: string[];
  /** The repository root. */
  repo: string;
  /** A fresh directory for this row, removed after its teardown. */
  tmp: string;
  /** One line on stderr, prefixed with the row id. */
  log: (line: string) => void;
  /** Free for the row: filled in setup, read in measure and teardown. */
  state: Record<string, unknown>;
}

export interface Compare {
  metric: string;
  subject: string;
  baseline: string;
  /** Another metric of the baseline variant's same repetition as the denominator (default: `metric`). */
  baselineMetric?: string;
  /** On the ratio median(subject) / median(baseline). */
  target?: Target;
}

export interface Check {
  metric: string;
  variant: string;
  /** On the variant's median. */
  target: Target;
}

export interface Row {
  /** Unique, kebab-case; `npm run bench -- --only <id>`. */
  id: string;
  title: string;
  /** Measured one after the other in this order within each repetition. */
  variants: string[];
  setup?(ctx: RowContext): Promise<void> | void;
  /**
   * Repetitions of every variant run after setup and left out of the results (default 0): a variant's first
   * run in the process pays for compiling its code (the JIT), which is not what a row measures.
   */
  warmup?: number;
  /**
   * At least this many recorded repetitions, whatever `--reps` asks (default: `--reps`). For a row whose one
   * measurement is short and whose machine noise comes in episodes of seconds (an Ansible run): many short
   * repetitions pair its variants closely in time, where a few long ones let an episode land on one variant.
   */
  minReps?: number;
  /** Reverse the order of the variants in every other repetition (default false), so neither always runs right after the other. */
  alternate?: boolean;
  measure(variant: string, ctx: RowContext): Promise<Metrics> | Metrics;
  /** Runs once after the last repetition, and also after an error in setup or measure. */
  teardown?(ctx: RowContext): Promise<void> | void;
  compare?: Compare[];
  checks?: Check[];
}
