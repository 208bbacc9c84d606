/**
 * What the post office and the operator's client need of a logger: two levels, pino's call shape
 * (fields, then the message). A pino Logger is one; so is lineLogger below, which imports
 * nothing, for `minder command`: a one-shot process on the operator's clock that logs only what
 * goes wrong (docs/benchmarks.md §4: pino and its dependencies cost ~20 ms of its start-up).
 */
export interface LogSink {
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/** pino's numbers for the two levels, so that a line reads as pino's would. */
const LEVEL = { warn: 40, error: 50 } as const;

/**
 * One JSON line per entry, the shape pino writes (level, time, party, name, the fields, msg), to
 * `write` (default: stderr), for the entries at `level` or above; `silent` and anything above
 * `error` write nothing.
 */
export function lineLogger(opts: { name: string; level: string; write?: (line: string) => void }): LogSink {
  const threshold = ({ trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Number.POSITIVE_INFINITY } as Record<string, number>)[opts.level] ?? 30;
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const entry = (level: keyof typeof LEVEL) => (fields: object, msg: string) => {
    if (LEVEL[level] < threshold) return;
    let line: string;
    try {
      line = JSON.stringify({ level: LEVEL[level], time: new Date().toISOString(), party: opts.name, pid: process.pid, name: opts.name, ...fields, msg });
    } catch {
      line = JSON.stringify({ level: LEVEL[level], time: new Date().toISOString(), party: opts.name, name: opts.name, msg });
    }
    write(`${line}\n`);
  };
  return { warn: entry('warn'), error: entry('error') };
}
