// Median and spread for the issue-7 benchmarks (garbd-*, scale*, footprint*), and the machine
// facts every figure in docs/benchmarks.md is written with.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export interface Spread {
  n: number;
  median: number | null;
  min: number | null;
  max: number | null;
  /** Nearest-rank p90 (equals max below 10 samples). */
  p90: number | null;
  raw: number[];
}

export function spread(xs: number[]): Spread {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, median: null, min: null, max: null, p90: null, raw: [] };
  const mid = s.length / 2;
  const median = s.length % 2 ? (s[Math.floor(mid)] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  const p90 = s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)] as number;
  return { n: s.length, median, min: s[0] as number, max: s.at(-1) as number, p90, raw: xs };
}

function version(cmd: string, args: string[], pick: RegExp): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return pick.exec(out)?.[1] ?? out.trim().split('\n')[0] ?? '?';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    return pick.exec(out)?.[1] ?? 'not found';
  }
}

export interface Machine {
  cpuModel: string;
  nproc: number;
  memGiB: number;
  node: string;
  mariadb: string;
  galera: string;
  garbd: string;
  haproxy: string;
  loadavg: string;
}

export function machine(): Machine {
  return {
    cpuModel: cpus()[0]?.model ?? '?',
    nproc: cpus().length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    mariadb: version('mariadbd', ['--version'], /Ver\s+(\S+)/),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not a template
    galera: version('dpkg-query', ['-W', '-f=${Version}', 'galera-4'], /(\S+)/),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not a template
    garbd: version('dpkg-query', ['-W', '-f=${Version}', 'galera-arbitrator-4'], /(\S+)/),
    haproxy: version('haproxy', ['-v'], /version\s+(\S+)/),
    loadavg: loadavg(),
  };
}

export function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

// ---- one process, from /proc ----------------------------------------------------------------

/** Clock ticks per second for /proc/<pid>/stat (sysconf(_SC_CLK_TCK)); 100 on Linux unless told. */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 of stat(5)
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export function memoryMiB(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}
