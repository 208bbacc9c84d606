// A real MariaDB 10.11 + Galera 4 cluster on loopback, for tests, benchmarks and the demo.
// Node i (from 1) lives on 127.0.0.(10+i) with the standard ports, in its own directory under
// a temp dir. See docs/lab.md for usage and for what was measured on this machine.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import type { Connection, ConnectionOptions, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { track, untrack } from './lab-cleanup.js';
import { LabError, describeError } from './lab-errors.js';
import { PORTS, SHORT_EVS, forceSafeToBootstrap, providerOptionEntries, readGrastate, readGvwstate, renderMyCnf, tailFile, type GraState, type GvwState } from './lab-files.js';
import {
  LAB_CHAIN,
  acquireLabLock,
  assertPortsFree,
  checkHost,
  dropBetween,
  ensureChain,
  ensureMysqlCanExecute,
  flushChain,
  removeChain,
  removeChainSync,
  type HostTools,
  type LabLock,
  type MysqlAccount,
} from './lab-host.js';

export { LabError, type LabErrorCode } from './lab-errors.js';
export type { GraState, GvwState, GvwMember } from './lab-files.js';
export { LAB_CHAIN } from './lab-host.js';

const execFileAsync = promisify(execFile);

// ---- public types ---------------------------------------------------------------------------

export interface LabNodeSpec {
  name: string;
  dc: string;
  /** Galera pc.weight of this node (quorum weight). */
  weight?: number;
  /** false: prepare the node's directory but leave it down; start it later with lab.start(). */
  start?: boolean;
  extraMyCnf?: Record<string, string>;
  extraProviderOptions?: string | Record<string, string>;
}

export interface LabOptions {
  nodes: LabNodeSpec[];
  /** Short EVS timeouts (cut detected in ~3.5 s). A lab setting, not a product one. Default true. */
  shortEvs?: boolean;
  /** Absolute path set as wsrep_notify_cmd on every node; made executable for mysql. */
  notifyCmd?: string;
  clusterName?: string;
  /** Parent of the lab's temp dir (default os.tmpdir()); must be traversable by mysql. */
  baseDir?: string;
  /** Added to every node's wsrep_provider_options (after the lab's own, so they win). */
  extraProviderOptions?: string | Record<string, string>;
  /** Added to every node's [mysqld]; a node's own extraMyCnf wins over this. */
  extraMyCnf?: Record<string, string>;
  /** Sets wsrep_status_file=<node dir>/wsrep-status.json. */
  wsrepStatusFile?: boolean;
  /** Bound for each node to become Synced during bring-up (default 90 s). */
  startTimeoutMs?: number;
  /** Leave the temp dir on close (debugging). Default false. */
  keepDir?: boolean;
  /**
   * How long to wait for another process's lab to close before failing with LAB_BUSY
   * (labs share addresses; default 180 s, under vitest's 240 s hook timeout).
   */
  lockWaitMs?: number;
}

export interface LabNode {
  name: string;
  dc: string;
  weight: number;
  /** 1-based; the node's address is 127.0.0.(10+index). */
  index: number;
  address: string;
  port: number;
  gcommPort: number;
  istPort: number;
  sstPort: number;
  dir: string;
  datadir: string;
  socket: string;
  pidFile: string;
  errorLog: string;
  myCnf: string;
  statusFile: string | undefined;
  /** PID of the running mariadbd we started, undefined when down. */
  pid: number | undefined;
  running: boolean;
}

export type WsrepStatus = Readonly<Record<string, string>>;
export type Row = Record<string, unknown>;

export interface QueryOptions {
  /** Bounds connect + query (default 30 s). A write blocked by a cut fails after this. */
  timeoutMs?: number;
  /**
   * Sets wsrep_sync_wait for this call (true = 1: reads wait until the node has applied
   * everything committed cluster-wide before they started). Without it a read on another node
   * right after a commit can miss that commit: apply is asynchronous.
   */
  syncWait?: boolean | number;
}

export interface StartNodeOptions {
  /** Start with --wsrep-new-cluster. */
  bootstrap?: boolean;
  /** With bootstrap: set safe_to_bootstrap: 1 in grastate.dat first, as an operator would. */
  force?: boolean;
  /** What to wait for: Synced+Primary (default), SQL answering, or nothing. */
  wait?: 'synced' | 'sql' | 'none';
  timeoutMs?: number;
  /** Preferred SST donor (falls back to any other node). */
  donor?: string;
  /**
   * After a crash (grastate seqno -1) run --wsrep-recover first and pass the result as
   * --wsrep-start-position, as Debian's systemd unit does via galera_recovery. Default true:
   * without it the node starts from 00000000-…:-1 and a whole-cluster restart forms a new
   * history (new state UUID, seqno from 0) instead of recovering the old one.
   */
  recoverPosition?: boolean;
}

export interface RecoveredPosition {
  uuid: string;
  seqno: number;
}

export interface Credentials {
  user: string;
  password: string;
}

// ---- availability ---------------------------------------------------------------------------

/** Cheap check for test files: can this machine run a lab at all? */
export function labAvailable(): { ok: true } | { ok: false; reason: string } {
  try {
    checkHost();
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: describeError(err) };
  }
}

export function isSyncedPrimary(size?: number): (s: WsrepStatus) => boolean {
  return (s) => s['wsrep_local_state_comment'] === 'Synced' && s['wsrep_cluster_status'] === 'Primary' && (size === undefined || s['wsrep_cluster_size'] === String(size));
}

export function isNonPrimary(s: WsrepStatus): boolean {
  return s['wsrep_cluster_status'] !== undefined && s['wsrep_cluster_status'] !== 'Primary';
}

export async function startGaleraLab(opts: LabOptions): Promise<GaleraLab> {
  return GaleraLab.launch(opts);
}

// ---- internals ------------------------------------------------------------------------------

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Proc {
  /** null for a mariadbd another process started (adopted by its pid file). */
  child: ChildProcess | null;
  pid: number;
  exit: Promise<ExitInfo>;
  exited: ExitInfo | undefined;
}

interface NodeState {
  spec: LabNodeSpec;
  index: number;
  address: string;
  dir: string;
  datadir: string;
  socket: string;
  pidFile: string;
  errorLog: string;
  stdoutLog: string;
  myCnf: string;
  statusFile: string | undefined;
  proc: Proc | undefined;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const POLL_MS = 150;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves true if `p` settles within `ms`; the timer never outlives the race. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function pidFromFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A live process whose command line has `arg` (the adopted mariadbd of one lab node). */
function processWithArg(arg: string): number | undefined {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(arg)) return Number(p);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Zombie or gone: a SIGKILLed child we can no longer reap (no event loop at 'exit'). */
function pidGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return / Z /.test(stat.slice(stat.lastIndexOf(')')));
  } catch {
    return true;
  }
}

/** Bounded synchronous wait, so the dirs are removed only after the processes stop writing. */
function waitGoneSync(pids: number[], ms: number): void {
  const deadline = Date.now() + ms;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < deadline && !pids.every(pidGone)) Atomics.wait(nap, 0, 0, 20);
}

/** Takes the machine-wide lab lock, checks our addresses and the hook, makes the temp dir. */
async function reserve(opts: LabOptions): Promise<{ lock: LabLock; root: string }> {
  const who = { pid: process.pid, argv: process.argv.slice(1, 3), since: new Date().toISOString() };
  const lock = await acquireLabLock(who, opts.lockWaitMs ?? 180_000);
  try {
    for (let i = 1; i <= opts.nodes.length; i++) {
      await assertPortsFree(`127.0.0.${10 + i}`, [PORTS.sql, PORTS.gcomm, PORTS.ist, PORTS.sst]);
    }
    if (opts.notifyCmd !== undefined) ensureMysqlCanExecute(opts.notifyCmd);
    return { lock, root: mkdtempSync(join(opts.baseDir ?? tmpdir(), 'galera-lab-')) };
  } catch (err) {
    lock.release();
    throw err;
  }
}

function validateOptions(opts: LabOptions): void {
  if (opts.nodes.length === 0) throw new LabError('LAB_BAD_OPTIONS', 'a lab needs at least one node');
  if (opts.nodes.length > 200) throw new LabError('LAB_BAD_OPTIONS', 'too many nodes');
  const seen = new Set<string>();
  for (const n of opts.nodes) {
    if (!NAME_RE.test(n.name)) {
      throw new LabError('LAB_BAD_OPTIONS', `bad node name ${JSON.stringify(n.name)} (letters, digits, _ and -)`);
    }
    if (seen.has(n.name)) throw new LabError('LAB_BAD_OPTIONS', `duplicate node name ${n.name}`);
    seen.add(n.name);
  }
  if (!opts.nodes.some((n) => n.start !== false)) {
    throw new LabError('LAB_BAD_OPTIONS', 'at least one node must start (start !== false)');
  }
}

function summarize(s: WsrepStatus | undefined): string {
  if (s === undefined) return 'no status';
  const keys = ['wsrep_cluster_status', 'wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_ready'];
  return keys.map((k) => `${k}=${s[k] ?? '?'}`).join(' ');
}

// ---- the lab --------------------------------------------------------------------------------

export class GaleraLab {
  readonly root: string;
  readonly clusterName: string;
  readonly credentials: Credentials;
  readonly chain = LAB_CHAIN;
  /** Wall time of the bring-up (after the lab lock was taken), for benchmarks and docs. */
  bringUpMs = 0;
  /** Time spent waiting for another process's lab to close. */
  lockWaitMs = 0;

  private readonly states: Map<string, NodeState>;
  private readonly tools: HostTools;
  private readonly keepDir: boolean;
  private readonly lock: LabLock;
  private closing: Promise<void> | undefined;
  private closed = false;

  private constructor(opts: LabOptions, tools: HostTools, root: string, lock: LabLock) {
    this.tools = tools;
    this.lock = lock;
    this.root = root;
    this.keepDir = opts.keepDir ?? false;
    this.clusterName = opts.clusterName ?? 'galera-lab';
    this.credentials = { user: 'minder', password: randomBytes(12).toString('hex') };
    this.states = new Map(opts.nodes.map((spec, i) => [spec.name, this.layout(spec, i + 1, opts)]));
  }

  /** Builds and starts a lab; on any failure tears down what it started, then rethrows. */
  static async launch(opts: LabOptions): Promise<GaleraLab> {
    validateOptions(opts);
    const { tools, account } = checkHost();
    const tLock = Date.now();
    const { lock, root } = await reserve(opts);
    const t0 = Date.now();
    const lab = new GaleraLab(opts, tools, root, lock);
    lab.lockWaitMs = t0 - tLock;
    track(lab);
    try {
      await lab.prepare(opts, account);
      await lab.bringUp(opts.startTimeoutMs ?? 90_000);
    } catch (err) {
      await lab.close().catch(() => undefined);
      throw err;
    }
    lab.bringUpMs = Date.now() - t0;
    return lab;
  }

  private layout(spec: LabNodeSpec, index: number, opts: LabOptions): NodeState {
    const dir = join(this.root, spec.name);
    return {
      spec,
      index,
      address: `127.0.0.${10 + index}`,
      dir,
      datadir: join(dir, 'data'),
      socket: join(dir, 'mysqld.sock'),
      pidFile: join(dir, 'mysqld.pid'),
      errorLog: join(dir, 'error.log'),
      stdoutLog: join(dir, 'stdout.log'),
      myCnf: join(dir, 'my.cnf'),
      statusFile: opts.wsrepStatusFile === true ? join(dir, 'wsrep-status.json') : undefined,
      proc: undefined,
    };
  }

  private providerOptions(node: NodeState, opts: LabOptions): Map<string, string> {
    const a = node.address;
    const m = new Map<string, string>([
      ['gmcast.listen_addr', `tcp://${a}:${PORTS.gcomm}`],
      ['ist.recv_addr', `${a}:${PORTS.ist}`],
      ['gcache.size', '32M'],
    ]);
    if (node.spec.weight !== undefined) m.set('pc.weight', String(node.spec.weight));
    if (opts.shortEvs ?? true) for (const [k, v] of Object.entries(SHORT_EVS)) m.set(k, v);
    for (const [k, v] of providerOptionEntries(opts.extraProviderOptions)) m.set(k, v);
    for (const [k, v] of providerOptionEntries(node.spec.extraProviderOptions)) m.set(k, v);
    return m;
  }

  private async prepare(opts: LabOptions, account: MysqlAccount): Promise<void> {
    chmodSync(this.root, 0o755);
    const clusterAddress = `gcomm://${[...this.states.values()].map((n) => n.address).join(',')}`;
    for (const node of this.states.values()) {
      mkdirSync(node.datadir, { recursive: true });
      const cnf = renderMyCnf({
        name: node.spec.name,
        address: node.address,
        datadir: node.datadir,
        socket: node.socket,
        pidFile: node.pidFile,
        errorLog: node.errorLog,
        clusterName: this.clusterName,
        clusterAddress,
        providerOptions: this.providerOptions(node, opts),
        notifyCmd: opts.notifyCmd,
        statusFile: node.statusFile,
        extra: [opts.extraMyCnf ?? {}, node.spec.extraMyCnf ?? {}],
      });
      writeFileSync(node.myCnf, cnf);
    }
    await execFileAsync('chown', ['-R', `${account.uid}:${account.gid}`, this.root]);
    await this.assertMysqlCanReach(this.root);
    // A chain left by a crashed run would silently cut this lab.
    await removeChain(this.tools.iptables);
  }

  private async assertMysqlCanReach(dir: string): Promise<void> {
    try {
      await execFileAsync('runuser', ['-u', 'mysql', '--', 'test', '-w', dir, '-a', '-x', dir]);
    } catch {
      throw new LabError('LAB_BAD_OPTIONS', `the mysql user cannot reach ${dir}: choose a baseDir whose parents are traversable (e.g. /tmp)`);
    }
  }

  /** First startable node bootstraps; the rest join in waves, one per already-synced donor. */
  private async bringUp(timeoutMs: number): Promise<void> {
    const startable = [...this.states.values()].filter((n) => n.spec.start !== false);
    const [first, ...rest] = startable;
    if (first === undefined) return;
    await this.bootstrapFresh(first, timeoutMs);
    const synced: NodeState[] = [first];
    while (rest.length > 0) {
      const wave = rest.splice(0, synced.length);
      await Promise.all(wave.map((node, i) => this.start(node.spec.name, { donor: synced[i]?.spec.name, timeoutMs })));
      synced.push(...wave);
    }
    await this.waitAllSynced(timeoutMs);
  }

  private async bootstrapFresh(node: NodeState, timeoutMs: number): Promise<void> {
    await this.installDb(node);
    this.spawnNode(node, ['--wsrep-new-cluster']);
    await this.waitRootSql(node, timeoutMs);
    await this.createLabUser(node);
    await this.waitFor(node.spec.name, isSyncedPrimary(), timeoutMs, 'bootstrap Synced/Primary');
  }

  private async installDb(node: NodeState): Promise<void> {
    const args = [`--defaults-file=${node.myCnf}`, '--user=mysql', '--skip-test-db', '--auth-root-authentication-method=normal'];
    try {
      await execFileAsync(this.tools.installDb, args, { timeout: 120_000, maxBuffer: 8 << 20 });
    } catch (err) {
      const out = err as { stdout?: unknown; stderr?: unknown };
      const text = [out.stdout, out.stderr].filter((x): x is string => typeof x === 'string').join('\n');
      throw new LabError('LAB_COMMAND_FAILED', `mariadb-install-db for ${node.spec.name} failed: ${describeError(err)}\n${text.slice(-3000)}`, { cause: err });
    }
  }

  /** Right after install-db only root over the socket exists; our TCP user comes next. */
  private async waitRootSql(node: NodeState, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      this.assertAlive(node);
      try {
        const conn = await mysql.createConnection({ socketPath: node.socket, user: 'root', password: '' });
        try {
          // SQL answers before the node is ready for writes (ERROR 1047 on CREATE USER, seen
          // with a notify hook slowing the bring-up): wait for wsrep_ready too.
          const [rows] = await conn.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'wsrep_ready'");
          if (String(rows[0]?.['Value']) === 'ON') return;
          lastErr = new Error('wsrep_ready is not ON yet');
        } finally {
          await conn.end();
        }
      } catch (err) {
        lastErr = err;
      }
      await sleep(POLL_MS);
    }
    throw this.timeoutError(node, 'SQL on the unix socket', timeoutMs, describeError(lastErr));
  }

  private async createLabUser(node: NodeState): Promise<void> {
    const { user, password } = this.credentials;
    const conn = await mysql.createConnection({ socketPath: node.socket, user: 'root', password: '' });
    try {
      // 127.0.0.% because a client's source address on loopback is 127.0.0.1, not the node's.
      await conn.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [user, '127.0.0.%', password]);
      await conn.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [user, '127.0.0.%']);
    } finally {
      await conn.end();
    }
  }

  private spawnNode(node: NodeState, args: string[]): Proc {
    const fd = openSync(node.stdoutLog, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.tools.mariadbd, [`--defaults-file=${node.myCnf}`, ...args], {
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    child.unref();
    if (child.pid === undefined) {
      throw new LabError('LAB_COMMAND_FAILED', `could not spawn ${this.tools.mariadbd} for ${node.spec.name}`);
    }
    const proc: Proc = { child, pid: child.pid, exit: Promise.resolve({ code: null, signal: null }), exited: undefined };
    proc.exit = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        proc.exited = { code, signal };
        resolve(proc.exited);
      });
    });
    child.once('error', () => undefined);
    node.proc = proc;
    return proc;
  }

  // ---- lookup & SQL ---------------------------------------------------------------------------

  private state(name: string): NodeState {
    const node = this.states.get(name);
    if (node === undefined) {
      throw new LabError('LAB_UNKNOWN_NODE', `no lab node named ${name} (have: ${[...this.states.keys()].join(', ')})`);
    }
    return node;
  }

  private assertOpen(): void {
    if (this.closed) throw new LabError('LAB_CLOSED', 'this Galera lab is closed');
  }

  private running(node: NodeState): boolean {
    return node.proc !== undefined && node.proc.exited === undefined;
  }

  private assertAlive(node: NodeState): void {
    this.assertOpen();
    const proc = node.proc;
    if (proc === undefined) {
      throw new LabError('LAB_NODE_NOT_RUNNING', `lab node ${node.spec.name} was never started`);
    }
    if (proc.exited !== undefined) {
      const how = proc.exited.signal ?? `code ${String(proc.exited.code)}`;
      throw new LabError('LAB_NODE_EXITED', `mariadbd of ${node.spec.name} (pid ${proc.pid}) exited (${how}); tail of ${node.errorLog}:\n${tailFile(node.errorLog)}`);
    }
  }

  private timeoutError(node: NodeState, what: string, ms: number, last: string): LabError {
    return new LabError('LAB_TIMEOUT', `${node.spec.name}: no ${what} within ${ms} ms (last: ${last}); tail of ${node.errorLog}:\n${tailFile(node.errorLog)}`);
  }

  node(name: string): LabNode {
    const n = this.state(name);
    return {
      name: n.spec.name,
      dc: n.spec.dc,
      weight: n.spec.weight ?? 1,
      index: n.index,
      address: n.address,
      port: PORTS.sql,
      gcommPort: PORTS.gcomm,
      istPort: PORTS.ist,
      sstPort: PORTS.sst,
      dir: n.dir,
      datadir: n.datadir,
      socket: n.socket,
      pidFile: n.pidFile,
      errorLog: n.errorLog,
      myCnf: n.myCnf,
      statusFile: n.statusFile,
      pid: this.running(n) ? n.proc?.pid : undefined,
      running: this.running(n),
    };
  }

  nodes(): LabNode[] {
    return [...this.states.keys()].map((name) => this.node(name));
  }

  /** mysql2 options for a node over TCP with the lab's credentials. */
  connectionOptions(name: string): ConnectionOptions {
    const n = this.state(name);
    return { host: n.address, port: PORTS.sql, user: this.credentials.user, password: this.credentials.password };
  }

  private async withConnection<T>(name: string, opts: QueryOptions, fn: (c: Connection) => Promise<T>): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    this.assertOpen();
    const conn = await mysql.createConnection({
      ...this.connectionOptions(name),
      connectTimeout: Math.max(1000, Math.min(timeoutMs, 10_000)),
    });
    let ok = false;
    try {
      const level = opts.syncWait === true ? 1 : opts.syncWait === false ? 0 : opts.syncWait;
      if (level !== undefined) await conn.query({ sql: 'SET SESSION wsrep_sync_wait = ?', timeout: timeoutMs, values: [level] });
      const result = await fn(conn);
      ok = true;
      return result;
    } finally {
      // A failed/timed-out connection may be stuck on a blocked server: don't wait for QUIT.
      if (ok) await conn.end().catch(() => conn.destroy());
      else conn.destroy();
    }
  }

  /** Rows of a statement (empty for statements without a result set). Fresh connection each call. */
  async query(name: string, sql: string, params?: unknown[], opts: QueryOptions = {}): Promise<Row[]> {
    const timeout = opts.timeoutMs ?? 30_000;
    return this.withConnection(name, opts, async (c) => {
      const [rows] = await c.query<RowDataPacket[]>({ sql, timeout, values: params });
      return Array.isArray(rows) ? rows.map((r) => ({ ...r })) : [];
    });
  }

  /** A statement without a result set; returns what the server reports. */
  async exec(name: string, sql: string, params?: unknown[], opts: QueryOptions = {}): Promise<{ affectedRows: number; insertId: number }> {
    const timeout = opts.timeoutMs ?? 30_000;
    return this.withConnection(name, opts, async (c) => {
      const [res] = await c.query<ResultSetHeader>({ sql, timeout, values: params });
      return { affectedRows: res.affectedRows, insertId: res.insertId };
    });
  }

  /** SHOW GLOBAL STATUS LIKE 'wsrep%' as a record. Works on non-Primary nodes too. */
  async status(name: string, opts: QueryOptions = {}): Promise<WsrepStatus> {
    const rows = await this.query(name, "SHOW GLOBAL STATUS LIKE 'wsrep%'", undefined, opts);
    const out: Record<string, string> = {};
    for (const r of rows) out[String(r['Variable_name'])] = String(r['Value'] ?? '');
    return out;
  }

  /**
   * Polls status until `predicate` holds. Fails fast if the node's process exits, and on
   * timeout reports the last status (or error) and the tail of the node's error log.
   */
  async waitFor(name: string, predicate: (s: WsrepStatus) => boolean, timeoutMs = 30_000, what = 'matching status'): Promise<WsrepStatus> {
    const node = this.state(name);
    const deadline = Date.now() + timeoutMs;
    let last = 'nothing yet';
    for (;;) {
      this.assertAlive(node);
      const remaining = deadline - Date.now();
      try {
        const s = await this.status(name, { timeoutMs: Math.max(1000, Math.min(remaining, 5000)) });
        if (predicate(s)) return s;
        last = summarize(s);
      } catch (err) {
        if (err instanceof LabError) throw err;
        last = describeError(err);
      }
      if (Date.now() >= deadline) throw this.timeoutError(node, what, timeoutMs, last);
      await sleep(POLL_MS);
    }
  }

  /** Every running node Synced and Primary with cluster size = number of running nodes. */
  async waitAllSynced(timeoutMs = 60_000): Promise<void> {
    const up = [...this.states.values()].filter((n) => this.running(n));
    await Promise.all(up.map((n) => this.waitFor(n.spec.name, isSyncedPrimary(up.length), timeoutMs, `Synced in a cluster of ${up.length}`)));
  }

  // ---- network --------------------------------------------------------------------------------

  /** Drops traffic both ways between every node of groupA and every node of groupB. Cumulative. */
  async cut(groupA: string[], groupB: string[]): Promise<void> {
    this.assertOpen();
    const a = groupA.map((n) => this.state(n).address);
    const b = groupB.map((n) => this.state(n).address);
    await ensureChain(this.tools.iptables);
    for (const x of a) for (const y of b) if (x !== y) await dropBetween(this.tools.iptables, x, y);
  }

  /** Drops traffic both ways between an address that is not a node (a minder party's) and these nodes. */
  async cutAddress(address: string, nodes: string[]): Promise<void> {
    this.assertOpen();
    await ensureChain(this.tools.iptables);
    for (const n of nodes) await dropBetween(this.tools.iptables, address, this.state(n).address);
  }

  async cutDcs(dcA: string, dcB: string): Promise<void> {
    const inDc = (dc: string): string[] => {
      const names = [...this.states.values()].filter((n) => n.spec.dc === dc).map((n) => n.spec.name);
      if (names.length === 0) throw new LabError('LAB_BAD_OPTIONS', `no lab node in dc ${dc}`);
      return names;
    };
    await this.cut(inDc(dcA), inDc(dcB));
  }

  /** Removes every cut (flushes our chain). */
  async heal(): Promise<void> {
    this.assertOpen();
    await flushChain(this.tools.iptables);
  }

  /** Galera's own switch: cuts one node from all others (gmcast.isolate). */
  async isolate(name: string, on: boolean): Promise<void> {
    await this.exec(name, `SET GLOBAL wsrep_provider_options='gmcast.isolate=${on ? 1 : 0}'`);
  }

  /**
   * pc.bootstrap=YES on a node of a non-Primary side, retried until that node reports Primary:
   * it is ignored unless the node is non-Primary and can fail with EAGAIN after some outages.
   */
  async pcBootstrap(name: string, timeoutMs = 15_000): Promise<WsrepStatus> {
    const deadline = Date.now() + timeoutMs;
    let last = 'not tried';
    while (Date.now() < deadline) {
      try {
        await this.exec(name, "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'", undefined, { timeoutMs: 5000 });
      } catch (err) {
        last = describeError(err);
      }
      try {
        return await this.waitFor(name, (s) => s['wsrep_cluster_status'] === 'Primary', 1500, 'Primary after pc.bootstrap');
      } catch (err) {
        if (!(err instanceof LabError) || err.code !== 'LAB_TIMEOUT') throw err;
        last = err.message.split('\n')[0] ?? last;
      }
    }
    throw this.timeoutError(this.state(name), 'Primary after pc.bootstrap=YES', timeoutMs, last);
  }

  // ---- processes ------------------------------------------------------------------------------

  /**
   * Takes over a mariadbd that another process started on this node (minder's dbserver, through
   * test/lab/mariadbd-ctl.sh): found by its pid file, tracked by polling, stopped by PID like our
   * own. Returns its pid, or undefined when none runs. Teardown adopts every such process first.
   */
  adopt(name: string): number | undefined {
    const node = this.state(name);
    if (this.running(node)) return node.proc?.pid;
    // Before its pid file exists (waiting for its component, taking an SST) the process is found
    // by the my.cnf on its command line.
    const pid = pidFromFile(node.pidFile) ?? processWithArg(`--defaults-file=${node.myCnf}`);
    if (pid === undefined || pidGone(pid)) return undefined;
    const proc: Proc = { child: null, pid, exit: Promise.resolve({ code: null, signal: null }), exited: undefined };
    proc.exit = new Promise<ExitInfo>((resolve) => {
      const t = setInterval(() => {
        if (!pidGone(pid)) return;
        clearInterval(t);
        proc.exited = { code: null, signal: null };
        resolve(proc.exited);
      }, 50);
      t.unref();
    });
    node.proc = proc;
    return pid;
  }

  /** SIGKILL, then wait for the process to be gone. grastate.dat keeps seqno -1. */
  async kill(name: string): Promise<void> {
    const node = this.state(name);
    const proc = node.proc;
    if (proc === undefined || proc.exited !== undefined) return;
    process.kill(proc.pid, 'SIGKILL');
    if (!(await within(proc.exit, 10_000))) {
      throw new LabError('LAB_TIMEOUT', `${name}: pid ${proc.pid} still there 10 s after SIGKILL`);
    }
  }

  /** Graceful stop: SIGTERM and wait; escalates to SIGKILL (and fails) past the bound. */
  async stop(name: string, timeoutMs = 60_000): Promise<void> {
    const node = this.state(name);
    const proc = node.proc;
    if (proc === undefined || proc.exited !== undefined) return;
    process.kill(proc.pid, 'SIGTERM');
    if (await within(proc.exit, timeoutMs)) return;
    await this.kill(name);
    throw this.timeoutError(node, 'exit after SIGTERM (sent SIGKILL)', timeoutMs, 'still running');
  }

  /** Stops every running node gracefully, last node first, so the first one leaves last. */
  async stopAll(timeoutMs = 60_000): Promise<void> {
    for (const node of [...this.states.values()].reverse()) await this.stop(node.spec.name, timeoutMs);
  }

  /** (Re)starts a node on its existing datadir, or joins a fresh one by SST. */
  async start(name: string, opts: StartNodeOptions = {}): Promise<void> {
    this.assertOpen();
    const node = this.state(name);
    if (this.running(node)) throw new LabError('LAB_NODE_RUNNING', `${name} is already running (pid ${node.proc?.pid})`);
    const timeoutMs = opts.timeoutMs ?? 90_000;
    const fresh = !existsSync(join(node.datadir, 'mysql'));
    if (opts.bootstrap === true && fresh) {
      await this.bootstrapFresh(node, timeoutMs);
      return;
    }
    const args: string[] = [];
    if ((opts.recoverPosition ?? true) && this.grastate(name)?.seqno === -1) {
      const pos = await this.recover(name);
      args.push(`--wsrep_start_position=${pos.uuid}:${pos.seqno}`);
    }
    if (opts.bootstrap === true) {
      this.allowBootstrap(node, opts.force === true);
      args.push('--wsrep-new-cluster');
    }
    if (opts.donor !== undefined) args.push(`--wsrep_sst_donor=${opts.donor},`);
    this.spawnNode(node, args);
    await this.waitStarted(node, opts.wait ?? 'synced', timeoutMs);
  }

  private allowBootstrap(node: NodeState, force: boolean): void {
    const path = join(node.datadir, 'grastate.dat');
    const gs = readGrastate(path);
    if (gs === null || gs.safeToBootstrap !== false) return;
    if (!force) {
      throw new LabError(
        'LAB_UNSAFE_BOOTSTRAP',
        `${node.spec.name}: grastate.dat has safe_to_bootstrap: 0 (seqno ${String(gs.seqno)}); mariadbd would refuse --wsrep-new-cluster. Pass force: true to edit it, as an operator would.`,
      );
    }
    forceSafeToBootstrap(path);
  }

  private async waitStarted(node: NodeState, wait: 'synced' | 'sql' | 'none', timeoutMs: number): Promise<void> {
    if (wait === 'none') return;
    const pred = wait === 'synced' ? isSyncedPrimary() : (): boolean => true;
    await this.waitFor(node.spec.name, pred, timeoutMs, wait === 'synced' ? 'Synced/Primary' : 'SQL');
  }

  /** `mariadbd --wsrep-recover` on a stopped node: the position InnoDB has durably applied. */
  async recover(name: string): Promise<RecoveredPosition> {
    this.assertOpen();
    const node = this.state(name);
    if (this.running(node)) throw new LabError('LAB_NODE_RUNNING', `${name} must be down for --wsrep-recover`);
    const log = join(node.dir, 'recover.log');
    rmSync(log, { force: true });
    try {
      await execFileAsync(this.tools.mariadbd, [`--defaults-file=${node.myCnf}`, '--wsrep-recover', `--log-error=${log}`], {
        timeout: 120_000,
      });
    } catch (err) {
      throw new LabError('LAB_RECOVER_FAILED', `${name}: --wsrep-recover failed: ${describeError(err)}\n${tailFile(log)}`, {
        cause: err,
      });
    }
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    const m = /WSREP: Recovered position:\s*([0-9a-f-]{36}):(-?\d+)/.exec(text);
    if (m?.[1] === undefined || m[2] === undefined) {
      throw new LabError('LAB_RECOVER_FAILED', `${name}: no "Recovered position" in ${log}:\n${tailFile(log)}`);
    }
    return { uuid: m[1], seqno: Number(m[2]) };
  }

  grastate(name: string): GraState | null {
    return readGrastate(join(this.state(name).datadir, 'grastate.dat'));
  }

  /** gvwstate.dat: the last Primary view this node saw (Galera's pc.recovery input), or null. */
  gvwstate(name: string): GvwState | null {
    return readGvwstate(join(this.state(name).datadir, 'gvwstate.dat'));
  }

  errorLogTail(name: string, lines = 25): string {
    return tailFile(this.state(name).errorLog, lines);
  }

  // ---- teardown -------------------------------------------------------------------------------

  /** Stops every process we started (SIGTERM, SIGKILL past a bound), removes the chain and dirs. */
  close(): Promise<void> {
    this.closing ??= this.teardown();
    return this.closing;
  }

  private liveProcs(): Proc[] {
    return [...this.states.values()].flatMap((n) => (n.proc !== undefined && n.proc.exited === undefined ? [n.proc] : []));
  }

  private async teardown(): Promise<void> {
    for (const name of this.states.keys()) this.adopt(name);
    this.closed = true;
    const problems: string[] = [];
    await this.terminateAll(problems);
    // A control script (mariadbd-ctl.sh) still running may have started one more meanwhile.
    for (const name of this.states.keys()) this.adopt(name);
    await this.terminateAll(problems);
    await removeChain(this.tools.iptables).catch((err: unknown) => problems.push(describeError(err)));
    if (!this.keepDir) {
      try {
        rmSync(this.root, { recursive: true, force: true });
      } catch (err) {
        problems.push(`rm ${this.root}: ${describeError(err)}`);
      }
    }
    untrack(this);
    this.lock.release();
    if (problems.length > 0) throw new LabError('LAB_COMMAND_FAILED', `lab teardown: ${problems.join('; ')}`);
  }

  private async terminateAll(problems: string[]): Promise<void> {
    const signal = (p: Proc, sig: NodeJS.Signals): void => {
      try {
        process.kill(p.pid, sig);
      } catch {
        // already gone
      }
    };
    const procs = this.liveProcs();
    for (const p of procs) signal(p, 'SIGTERM');
    await Promise.all(procs.map((p) => within(p.exit, 15_000)));
    const stubborn = this.liveProcs();
    for (const p of stubborn) signal(p, 'SIGKILL');
    await Promise.all(stubborn.map((p) => within(p.exit, 10_000)));
    for (const p of this.liveProcs()) problems.push(`pid ${p.pid} survived SIGKILL`);
  }

  /** For process 'exit': SIGKILL everything, drop the chain, remove the dirs — synchronously. */
  closeSync(): void {
    for (const name of this.states.keys()) this.adopt(name);
    this.closed = true;
    for (const p of this.liveProcs()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    waitGoneSync(
      this.liveProcs().map((p) => p.pid),
      3000,
    );
    removeChainSync(this.tools.iptables);
    if (!this.keepDir) rmSync(this.root, { recursive: true, force: true });
    this.lock.release();
  }
}
