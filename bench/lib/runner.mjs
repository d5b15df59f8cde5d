// Finds the row modules (bench/rows/*.mjs) and runs their rows: each row's
// setup, then `warmup` unrecorded repetitions (the row's own, default 0) and
// `reps` recorded ones (at least the row's `minReps`) of every variant in
// order (reversed every other repetition for a row with `alternate`), then
// teardown.
// A row that cannot run (import error, bad shape, setup throws) becomes a
// 'not run' result with the reason; one whose measure throws becomes
// 'failed'. Either way the other rows still run.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const message = (err) => (err instanceof Error ? err.message : String(err));

/** The problems of a row's shape (empty when it is fine). */
export function rowProblems(row) {
  const p = [];
  if (!row || typeof row !== 'object') return ['not an object'];
  if (typeof row.id !== 'string' || !KEBAB.test(row.id)) p.push(`id: expected kebab-case, got ${JSON.stringify(row.id)}`);
  if (!Array.isArray(row.variants) || row.variants.length === 0 || !row.variants.every((v) => typeof v === 'string')) {
    p.push('variants: expected a non-empty array of strings');
  }
  if (typeof row.measure !== 'function') p.push('measure: expected a function');
  if (row.warmup !== undefined && !(Number.isInteger(row.warmup) && row.warmup >= 0)) p.push(`warmup: expected a whole number of at least 0, got ${JSON.stringify(row.warmup)}`);
  if (row.minReps !== undefined && !(Number.isInteger(row.minReps) && row.minReps >= 1)) p.push(`minReps: expected a whole number of at least 1, got ${JSON.stringify(row.minReps)}`);
  if (row.alternate !== undefined && typeof row.alternate !== 'boolean') p.push(`alternate: expected true or false, got ${JSON.stringify(row.alternate)}`);
  for (const hook of ['setup', 'teardown']) if (row[hook] !== undefined && typeof row[hook] !== 'function') p.push(`${hook}: expected a function`);
  const known = Array.isArray(row.variants) ? row.variants : [];
  (row.compare ?? []).forEach((c, i) => {
    for (const side of ['subject', 'baseline']) if (!known.includes(c?.[side])) p.push(`compare[${i}].${side}: ${JSON.stringify(c?.[side])} is not one of the variants`);
    if (typeof c?.metric !== 'string') p.push(`compare[${i}].metric: expected a string`);
  });
  (row.checks ?? []).forEach((c, i) => {
    if (!known.includes(c?.variant)) p.push(`checks[${i}].variant: ${JSON.stringify(c?.variant)} is not one of the variants`);
    if (typeof c?.metric !== 'string') p.push(`checks[${i}].metric: expected a string`);
  });
  return p;
}

/**
 * Every row of every module in `dir`, in file then declaration order. A module
 * that does not load or export `rows` gives one entry `{ id: <file>, broken: why }`.
 */
export async function discover(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
  const found = [];
  for (const file of files) {
    const name = basename(file, '.mjs');
    let mod;
    try {
      mod = await import(pathToFileURL(join(dir, file)).href);
    } catch (err) {
      found.push({ id: name, title: `bench/rows/${file}`, broken: `${file} does not load: ${message(err)}` });
      continue;
    }
    if (!Array.isArray(mod.rows)) {
      found.push({ id: name, title: `bench/rows/${file}`, broken: `${file} does not export rows: Row[]` });
      continue;
    }
    mod.rows.forEach((row, i) => {
      const problems = rowProblems(row);
      if (problems.length > 0) {
        const id = typeof row?.id === 'string' ? row.id : `${name}[${i}]`;
        found.push({ id, title: row?.title ?? `bench/rows/${file}`, broken: `${file}: ${problems.join('; ')}` });
      } else found.push(row);
    });
  }
  const seen = new Set();
  return found.map((row) => {
    if (seen.has(row.id)) return { id: row.id, title: row.title, broken: `duplicate row id ${row.id}` };
    seen.add(row.id);
    return row;
  });
}

/** Rows whose ids are in `only` (all when empty); throws naming the known ids when one is unknown. */
export function select(rows, only) {
  if (!only || only.length === 0) return rows;
  const unknown = only.filter((id) => !rows.some((r) => r.id === id));
  if (unknown.length > 0) throw new Error(`--only: unknown row ${unknown.join(', ')}; known rows: ${rows.map((r) => r.id).join(', ')}`);
  return rows.filter((r) => only.includes(r.id));
}

/** `promise`, or a rejection saying what did not finish within `ms` (no limit when ms is not finite). */
export function within(promise, ms, what) {
  if (!Number.isFinite(ms)) return Promise.resolve(promise);
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms >= 10_000 ? Math.round(ms / 1000) : ms / 1000} s`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

/** The numeric fields of what measure() returned; throws when it is not an object. */
function metricsFrom(value, variant) {
  if (!value || typeof value !== 'object') throw new Error(`measure(${variant}) returned ${JSON.stringify(value)}, expected an object of numbers`);
  const out = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'number') out[k] = v;
  return out;
}

/** How many recorded repetitions `row` gets when the run asks for `reps`: at least its own `minReps`. */
export function repsOf(row, reps) {
  return Math.max(reps, row.minReps ?? 0);
}

/**
 * The order of `row`'s variants in repetition `rep` (warm-ups count from -warmup): as declared, or with
 * `alternate` reversed in every odd one, so that neither variant always runs right after the other.
 */
export function orderOf(row, rep) {
  return row.alternate && Math.abs(rep) % 2 === 1 ? [...row.variants].reverse() : row.variants;
}

/**
 * Runs one row and returns its result. `opts`: { quick, reps, brokers, repo, log(line), timeoutMs? }:
 * setup and each measurement must finish within timeoutMs (default none), so a hung row fails and the run goes on.
 * `onMeasured(variant, rep, metrics)` is called after each measurement (progress lines).
 */
export async function runRow(row, opts, onMeasured = () => {}) {
  const base = { id: row.id, title: row.title ?? row.id, variants: row.variants ?? [], compare: row.compare ?? [], checks: row.checks ?? [], alternate: row.alternate === true, samples: {} };
  if (row.broken) return { ...base, status: 'not run', reason: row.broken };
  const tmp = mkdtempSync(join(tmpdir(), `amh-bench-${row.id}-`));
  const ctx = {
    quick: opts.quick,
    reps: opts.reps,
    brokers: opts.brokers,
    repo: opts.repo,
    tmp,
    log: (line) => opts.log(`[${row.id}] ${line}`),
    state: {},
  };
  for (const v of row.variants) base.samples[v] = [];
  let result;
  try {
    try {
      await within(row.setup?.(ctx), opts.timeoutMs, 'setup');
    } catch (err) {
      return (result = { ...base, status: 'not run', reason: message(err) });
    }
    const warmup = row.warmup ?? 0;
    const reps = repsOf(row, opts.reps);
    for (let rep = -warmup; rep < reps; rep++) {
      for (const variant of orderOf(row, rep)) {
        let metrics;
        try {
          metrics = metricsFrom(await within(row.measure(variant, ctx), opts.timeoutMs, `measure(${variant})`), variant);
        } catch (err) {
          const which = rep < 0 ? `warm-up ${rep + warmup + 1}` : `repetition ${rep + 1}`;
          return (result = { ...base, status: 'failed', reason: `${variant}, ${which}: ${message(err)}` });
        }
        if (rep < 0) continue; // warm-up: not recorded
        base.samples[variant].push(metrics);
        onMeasured(variant, rep, metrics);
      }
    }
    return (result = { ...base, status: 'ok' });
  } finally {
    try {
      await within(row.teardown?.(ctx), opts.timeoutMs, 'teardown');
    } catch (err) {
      ctx.log(`teardown failed: ${message(err)}`);
      if (result?.status === 'ok') {
        result.status = 'failed';
        result.reason = `teardown: ${message(err)}`;
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}
