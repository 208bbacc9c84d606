import { readdirSync, readlinkSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DatadirReport, RecoveredPosition } from '../../protocol/verbs.js';
import { GaleraFileError, parseGrastate, parseGvwstate, parseGvwstateOwner, readSmall } from './galera-files.js';

/**
 * What a stopped node's datadir says, for the cold-start rule (docs/cold-start.md). Only reads:
 * the datadir's listing, grastate.dat and gvwstate.dat. A datadir that is empty, was never part
 * of a cluster, or cannot be read is said so, and the arbitrator never chooses it.
 */
export interface DatadirFacts {
  report: DatadirReport;
  /** grastate.dat when readable (uuid, seqno, safe_to_bootstrap). */
  grastate: RecoveredPosition | null;
  /** Changes whenever the files that hold the position change: the --wsrep-recover cache key. */
  signature: string;
}

/** Entries that exist in a datadir whatever it holds (never a sign of data). */
const NOT_DATA = /^(lost\+found|.*\.sock|.*\.pid|.*\.err|.*\.log|\..*|wsrep-status\.json|recover\.log)$/;

function base(state: DatadirReport['state'], detail: string | null): DatadirReport {
  return { state, detail: detail === null ? null : detail.slice(0, 200), myUuid: null, lastView: null, recovered: null, recoverNote: null, process: null, sst: null };
}

function statKey(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${Math.trunc(s.mtimeMs)}`;
  } catch {
    return '-';
  }
}

/** The files InnoDB and Galera change when the durable position moves. */
export function datadirSignature(datadir: string): string {
  return ['grastate.dat', 'gvwstate.dat', 'ibdata1', 'ib_logfile0'].map((f) => statKey(join(datadir, f))).join('|');
}

/** MariaDB's wsrep_sst_common: present in the datadir while an SST runs into it. */
export const SST_MARKER = 'sst_in_progress';
const SIZE_ENTRIES_MAX = 20_000;

/** The bytes under `dir` (two levels deep, at most SIZE_ENTRIES_MAX entries): an SST's progress. */
export function datadirBytes(dir: string): number | null {
  let total = 0;
  let seen = 0;
  const walk = (d: string, depth: number): boolean => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return depth > 0;
    }
    for (const n of names) {
      if (++seen > SIZE_ENTRIES_MAX) return true;
      try {
        const st = statSync(join(d, n));
        if (st.isDirectory()) {
          if (depth < 2) walk(join(d, n), depth + 1);
        } else total += st.size;
      } catch {
        // gone meanwhile (rsync renames its temporary files): not counted
      }
    }
    return true;
  };
  return walk(dir, 0) ? total : null;
}

export function inspectDatadir(datadir: string): DatadirFacts {
  const facts = inspectFiles(datadir);
  if (facts.report.sst === undefined || facts.report.sst === null) return facts;
  return { ...facts, report: { ...facts.report, sst: { inProgress: true, bytes: datadirBytes(datadir) } } };
}

function inspectFiles(datadir: string): DatadirFacts {
  const signature = datadirSignature(datadir);
  let entries: string[];
  try {
    entries = readdirSync(datadir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { report: base('empty', `${datadir} does not exist`), grastate: null, signature };
    return { report: base('unreadable', `${datadir}: ${code ?? (err as Error).message}`), grastate: null, signature };
  }
  const sst = entries.includes(SST_MARKER);
  const marked = (f: DatadirFacts): DatadirFacts => (sst ? { ...f, report: { ...f.report, sst: { inProgress: true, bytes: null } } } : f);
  const data = entries.filter((e) => !NOT_DATA.test(e) && e !== SST_MARKER);
  if (data.length === 0) return marked({ report: base('empty', `${datadir} holds no data (${entries.length} other entries)`), grastate: null, signature });
  let grastate: RecoveredPosition;
  try {
    const text = readSmall(join(datadir, 'grastate.dat'));
    if (text === null) return marked({ report: base('no_grastate', `${datadir} holds data but no grastate.dat: it never joined a Galera cluster`), grastate: null, signature });
    grastate = parseGrastate(text);
  } catch (err) {
    const e = err instanceof GaleraFileError ? err : null;
    return marked({ report: base(e?.code === 'GALERA_FILE_UNREADABLE' ? 'unreadable' : 'malformed', e ? e.message : String(err)), grastate: null, signature });
  }
  const report = base('ok', null);
  try {
    const text = readSmall(join(datadir, 'gvwstate.dat'));
    if (text !== null) {
      report.myUuid = parseGvwstateOwner(text);
      report.lastView = parseGvwstate(text);
    }
  } catch (err) {
    // A damaged gvwstate.dat only costs pc.recovery, not the position: say it, go on.
    report.detail = (err instanceof GaleraFileError ? err.message : String(err)).slice(0, 200);
  }
  return marked({ report, grastate, signature });
}

/**
 * Whether a mariadbd may be running on this datadir: its pid file names a live process, or any
 * mariadbd/mysqld process has the datadir as its working directory (mariadbd chdirs there), or one
 * exists whose working directory cannot be read (another user's: then it may be ours). Errs on
 * the side of "running": the only cost is a recovery that waits.
 */
export function mariadbMayRun(datadir: string, pidFile: string | undefined): string | null {
  const dir = resolve(datadir);
  if (pidFile !== undefined) {
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) return `pid file ${pidFile} names live process ${pid}`;
    } catch {
      // no pid file: not proof of anything, the scan below decides
    }
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return 'cannot list /proc to look for a running mariadbd';
  }
  for (const pid of pids) {
    let comm: string;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm !== 'mariadbd' && comm !== 'mysqld') continue;
    if (zombie(Number(pid))) continue;
    try {
      if (resolve(readlinkSync(`/proc/${pid}/cwd`)) === dir) return `${comm} (pid ${pid}) runs in ${dir}`;
    } catch {
      return `${comm} (pid ${pid}) runs, and its working directory cannot be read`;
    }
  }
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !zombie(pid);
}

/** A killed process its parent has not reaped yet holds no file and runs nothing. */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\s*Z/.test(stat.slice(stat.lastIndexOf(')') + 1));
  } catch {
    return false;
  }
}

const POSITION_RES = [/WSREP: Recovered position:\s*([0-9a-f-]{36}):(-?\d+)/, /--wsrep[-_]start[-_]position=([0-9a-f-]{36}):(-?\d+)/];

/** The position in --wsrep-recover's output (mariadbd's error log, or galera_recovery's stdout). */
export function parseRecoveredPosition(text: string): { uuid: string; seqno: number } | null {
  for (const re of POSITION_RES) {
    const m = re.exec(text);
    if (m?.[1] !== undefined && m[2] !== undefined) return { uuid: m[1], seqno: Number(m[2]) };
  }
  return null;
}
