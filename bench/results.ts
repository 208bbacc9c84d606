import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO } from '../test/support/repo.js';

/**
 * Benchmark results are dated artifacts, one file per run, never rewritten:
 * bench/results/<benchmark>/<UTC time of writing>.<ext> (the time with `-` for `:`, so it sorts and
 * is a valid file name everywhere). Figures from a shared 2-core VM vary from run to run; the
 * history shows by how much. docs/benchmarks.md (bench/run-all.report.ts) reads the newest of each.
 */
export const RESULTS_DIR = join(REPO, 'bench/results');

export function stampOf(d: Date): string {
  return d.toISOString().replace(/:/g, '-');
}

/** The time a results file name stands for (ISO 8601), or null if it is not one of ours. */
export function timeOfStamp(file: string): string | null {
  const m = /^(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d(?:\.\d+)?Z)\./.exec(file);
  return m ? `${m[1]}:${m[2]}:${m[3]}` : null;
}

/** Writes one run's results; returns the path (relative to the repository) written. */
export function writeResult(benchmark: string, value: unknown, opts: { ext?: string; at?: Date } = {}): string {
  const ext = opts.ext ?? 'json';
  const dir = join(RESULTS_DIR, benchmark);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${stampOf(opts.at ?? new Date())}.${ext}`);
  // 'wx': an earlier run's file is never overwritten.
  writeFileSync(path, typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`, { flag: 'wx' });
  return relative(REPO, path);
}

/** The newest results file of a benchmark (relative to the repository), or null if it never ran. */
export function latestResult(benchmark: string, ext = 'json'): string | null {
  const dir = join(RESULTS_DIR, benchmark);
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(`.${ext}`) && timeOfStamp(f) !== null)
    .sort();
  const last = files.at(-1);
  return last === undefined ? null : relative(REPO, join(dir, last));
}
