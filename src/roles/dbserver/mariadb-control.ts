import { execFile } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DatadirReport } from '../../protocol/verbs.js';
import { type DatadirFacts, inspectDatadir, mariadbMayRun, parseRecoveredPosition } from './datadir.js';
import { withSafeToBootstrap } from './galera-files.js';

/** How long a start order waits for a mariadbd that is exiting (killed a moment ago) to be gone. */
export const EXIT_GRACE_MS = 10_000;

/**
 * The dbserver's hands on mariadbd for a cold start (docs/cold-start.md): the commands the site
 * config names for this host (start, bootstrap, stop, recover), run one at a time, each bounded in
 * time. `--wsrep-recover` is run only while no mariadbd runs on the datadir, and its result is
 * cached until the datadir changes; no start runs while a recovery does, and the other way round.
 */
export interface ControlCommands {
  start: string[];
  bootstrap: string[];
  stop: string[];
  recover: string[];
  timeoutMs: number;
  recoverTimeoutMs: number;
  /** Set safe_to_bootstrap here before the bootstrap command (else the command does it). */
  editGrastate: boolean;
  /** How long a start waits for an exiting mariadbd to be gone (default EXIT_GRACE_MS). */
  exitGraceMs?: number;
}

export interface ControlTarget {
  datadir: string;
  pidFile?: string;
}

interface Recovery {
  signature: string;
  position: { uuid: string; seqno: number } | null;
  note: string | null;
  /** When it ended: a recovery that gave no position is tried again after RECOVER_RETRY_MS. */
  at: number;
}

/** A failed --wsrep-recover (a mariadbd still running, a timeout) is worth another try later. */
export const RECOVER_RETRY_MS = 15_000;

const OUTPUT_MAX = 1024 * 1024;

export function runCommand(argv: readonly string[], timeoutMs: number): Promise<{ ok: boolean; output: string; error: string | null }> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.resolve({ ok: false, output: '', error: 'no command configured' });
  return new Promise((done) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: OUTPUT_MAX }, (err, stdout, stderr) => {
      const output = `${stdout}\n${stderr}`;
      if (!err) return done({ ok: true, output, error: null });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
      const why = e.killed ? `did not finish within ${timeoutMs} ms (killed)` : typeof e.code === 'number' ? `exited ${e.code}` : (e.code ?? e.message);
      const tail = stderr.trim().split('\n').slice(-2).join(' / ').slice(0, 120);
      done({ ok: false, output, error: `${argv.join(' ').slice(0, 60)}: ${String(why)}${tail ? ` (${tail})` : ''}` });
    });
  });
}

export class MariadbControl {
  private busy: string | null = null;
  private recovery: Recovery | null = null;
  /** The --wsrep-recover under way, if any: a start waits for it (both use the datadir). */
  private recovering: Promise<void> | null = null;
  /** Called when something worth a new report happened (a recovery finished). */
  onChange: () => void = () => {};

  constructor(
    private readonly target: ControlTarget,
    private readonly commands: ControlCommands,
    private readonly logger: Logger,
  ) {}

  /**
   * The datadir's facts for a down report, with the recovered position when grastate.dat's seqno
   * is -1; starts a recovery in the background when none is known for the datadir as it is now.
   */
  inspect(): DatadirFacts {
    const facts = inspectDatadir(this.target.datadir);
    // While our own --wsrep-recover runs, the mariadbd it started is ours, not a server: not reported.
    const running = this.recovering ? null : mariadbMayRun(this.target.datadir, this.target.pidFile);
    const report: DatadirReport = { ...facts.report, process: running?.slice(0, 200) ?? null };
    if (report.process !== null) return { ...facts, report };
    if (facts.report.state !== 'ok' || facts.grastate === null || facts.grastate.seqno !== -1) return { ...facts, report };
    const r = this.recovery;
    if (r && r.signature === facts.signature && (r.position !== null || Date.now() - r.at < RECOVER_RETRY_MS)) {
      report.recovered = r.position;
      report.recoverNote = r.note;
    } else if (this.busy !== null) {
      report.recoverNote = `waiting: ${this.busy} under way`;
    } else {
      report.recoverNote = 'mariadbd --wsrep-recover under way';
      this.recovering = this.recover(facts.signature).finally(() => {
        this.recovering = null;
      });
    }
    return { ...facts, report };
  }

  private async recover(signature: string): Promise<void> {
    const running = mariadbMayRun(this.target.datadir, this.target.pidFile);
    if (running) {
      this.recovery = { signature, position: null, note: `not recovering while a mariadbd may run: ${running}`.slice(0, 200), at: Date.now() };
      this.onChange();
      return;
    }
    this.busy = '--wsrep-recover';
    const t0 = Date.now();
    try {
      const r = await runCommand(this.commands.recover, this.commands.recoverTimeoutMs);
      const position = r.ok ? parseRecoveredPosition(r.output) : null;
      const note = r.ok ? (position ? null : 'no "Recovered position" in the recover command\'s output') : r.error;
      // The datadir as it is after the run: InnoDB's recovery may touch the files it keys on.
      this.recovery = { signature: inspectDatadir(this.target.datadir).signature, position, note: note?.slice(0, 200) ?? null, at: Date.now() };
      this.logger[position ? 'info' : 'warn'](
        { event: 'wsrep_recover', ms: Date.now() - t0, position, note },
        position ? `--wsrep-recover: position ${position.uuid}:${position.seqno}` : `--wsrep-recover gave no position: ${note}`,
      );
    } finally {
      this.busy = null;
    }
    this.onChange();
  }

  /**
   * Starts mariadbd (`start`) or bootstraps a new primary component from this node (`bootstrap`:
   * safe_to_bootstrap set to 1 immediately before, on this node only). Null on success, else why.
   */
  async startMariadb(mode: 'start' | 'bootstrap'): Promise<string | null> {
    if (this.recovering) await this.recovering;
    if (this.busy !== null) return `${this.busy} is under way`;
    this.busy = mode === 'bootstrap' ? 'the bootstrap' : 'the start';
    const running = await this.untilNoMariadb();
    if (running) {
      this.busy = null;
      return `a mariadbd may already run: ${running}`;
    }
    try {
      if (mode === 'bootstrap' && this.commands.editGrastate) {
        const err = setSafeToBootstrap(this.target.datadir);
        if (err) return err;
      }
      const r = await runCommand(mode === 'bootstrap' ? this.commands.bootstrap : this.commands.start, this.commands.timeoutMs);
      return r.error;
    } finally {
      this.busy = null;
      this.recovery = null;
    }
  }

  /**
   * A mariadbd killed a moment ago may still be going (its memory torn down, its working
   * directory already unreadable) when the order to start it again arrives: a start refused then
   * leaves a pc.recovery round one member short for good (seen on the lab: kill -9 of every
   * mariadbd, the orders 0.7 s later). So a process that may run is given EXIT_GRACE_MS to go.
   */
  private async untilNoMariadb(): Promise<string | null> {
    const end = Date.now() + (this.commands.exitGraceMs ?? EXIT_GRACE_MS);
    for (;;) {
      const running = mariadbMayRun(this.target.datadir, this.target.pidFile);
      if (!running || Date.now() >= end) return running;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stopMariadb(): Promise<string | null> {
    return (await runCommand(this.commands.stop, this.commands.timeoutMs)).error;
  }
}

/** Rewrites grastate.dat in place (the datadir is not ours to create files in), fsynced. */
export function setSafeToBootstrap(datadir: string): string | null {
  const path = join(datadir, 'grastate.dat');
  try {
    const text = readFileSync(path, 'utf8');
    const next = withSafeToBootstrap(text);
    if (next === text) return null;
    const fd = openSync(path, 'r+');
    try {
      const buf = Buffer.from(next, 'utf8');
      writeSync(fd, buf, 0, buf.length, 0);
      ftruncateSync(fd, buf.length);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return null;
  } catch (err) {
    return `cannot set safe_to_bootstrap in ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}
