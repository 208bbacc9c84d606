// A throwaway real HAProxy for lab tests: writes a config in a temp dir, runs haproxy in
// master-worker mode (-W -db) so that reload() is HAProxy's own SIGUSR2 reload, waits for the
// admin socket, and always cleans up (close(), process exit, SIGINT, SIGTERM).
//
// Also here: tiny TCP "name servers" that stand in for database nodes (each writes its name on
// connect and echoes lines back prefixed with it), and a client that reads which server it
// reached. They let a test see exactly where HAProxy routed each connection without mariadbd.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SocketRequester } from '../../src/roles/dbclient/lb/socket-request.js';

export type HaproxyLabErrorCode = 'HAPROXY_NOT_INSTALLED' | 'HAPROXY_BAD_OPTIONS' | 'HAPROXY_BAD_CONFIG' | 'HAPROXY_START_FAILED' | 'HAPROXY_TIMEOUT' | 'HAPROXY_CLOSED';

export class HaproxyLabError extends Error {
  readonly code: HaproxyLabErrorCode;

  constructor(code: HaproxyLabErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HaproxyLabError';
    this.code = code;
  }
}

export interface LabServer {
  name: string;
  address: string;
  port: number;
}

export type LabCheck = 'none' | 'tcp' | 'httpchk' | 'mysql-check';

export interface StartHaproxyOptions {
  /** Directory for haproxy.cfg, admin.sock and haproxy.log. Default: a new temp dir, removed by close(). */
  dir?: string;
  servers: LabServer[];
  writeBackend?: string;
  readBackend?: string;
  frontendPorts: { write: number; read: number };
  /** Address both frontends bind to. Default 127.0.0.50 (clear of the Galera lab's 127.0.0.1x). */
  bind?: string;
  /** Appended to every `server` line, e.g. 'on-marked-down shutdown-sessions'. */
  extraServerParams?: string;
  check?: LabCheck;
  /** `httpUri` for both backends, or `writeUri`/`readUri` each (clustercheck-style /write and /read). */
  checkOptions?: { interMs?: number; port?: number; httpUri?: string; writeUri?: string; readUri?: string; mysqlUser?: string; fall?: number; rise?: number };
  balance?: 'leastconn' | 'roundrobin';
  /** 'single-active': first server active, the others `backup` (HAProxy alone still has one writer). */
  writeMode?: 'single-active' | 'all-active';
  /** Bound on how long an old worker keeps serving old sessions after a reload. */
  hardStopAfterMs?: number;
  startTimeoutMs?: number;
}

export interface Endpoint {
  host: string;
  port: number;
}

export interface HaproxyLab {
  readonly dir: string;
  readonly configPath: string;
  readonly socketPath: string;
  readonly logPath: string;
  /** The master process (stable across reload(); new after restart()). */
  readonly pid: number;
  readonly frontends: { write: Endpoint; read: Endpoint };
  readonly writeBackend: string;
  readonly readBackend: string;
  /** One runtime API command, raw reply. */
  admin(line: string): Promise<string>;
  /** PID of the worker answering the admin socket now. */
  workerPid(): Promise<number>;
  /** HAProxy's own reload (SIGUSR2 to the master): a new worker with the config's server states. */
  reload(): Promise<void>;
  /** Stops the whole process tree and starts it again from the same config. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function badOptions(msg: string): HaproxyLabError {
  return new HaproxyLabError('HAPROXY_BAD_OPTIONS', msg);
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw badOptions(`${what} ${port} is not a TCP port`);
}

function checkAddress(address: string, what: string): void {
  const m = IPV4.exec(address);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) throw badOptions(`${what} '${address}' is not an IPv4 address`);
}

function validate(o: StartHaproxyOptions): void {
  if (o.servers.length === 0) throw badOptions('at least one server is needed');
  for (const s of o.servers) {
    if (!NAME.test(s.name)) throw badOptions(`server name '${s.name}' is not an HAProxy identifier`);
    checkAddress(s.address, `server ${s.name} address`);
    checkPort(s.port, `server ${s.name} port`);
  }
  if (new Set(o.servers.map((s) => s.name)).size !== o.servers.length) throw badOptions('server names must be unique');
  for (const b of [o.writeBackend, o.readBackend]) {
    if (b !== undefined && !NAME.test(b)) throw badOptions(`backend name '${b}' is not an HAProxy identifier`);
  }
  checkAddress(o.bind ?? '127.0.0.50', 'bind');
  checkPort(o.frontendPorts.write, 'write frontend port');
  checkPort(o.frontendPorts.read, 'read frontend port');
  // Free text goes into the config verbatim: a newline would let it add directives.
  if (o.extraServerParams !== undefined && /[\r\n]/.test(o.extraServerParams)) throw badOptions('extraServerParams must be one line');
}

function checkLines(o: StartHaproxyOptions, backend: 'write' | 'read'): string[] {
  const c = o.checkOptions ?? {};
  switch (o.check ?? 'none') {
    case 'httpchk':
      return [`  option httpchk GET ${(backend === 'write' ? c.writeUri : c.readUri) ?? c.httpUri ?? '/'}`];
    case 'mysql-check':
      return [`  option mysql-check user ${c.mysqlUser ?? 'haproxy_check'}`];
    default:
      return [];
  }
}

function serverLine(o: StartHaproxyOptions, s: LabServer, backup: boolean): string {
  const parts = [`  server ${s.name} ${s.address}:${s.port}`];
  if ((o.check ?? 'none') !== 'none') {
    const c = o.checkOptions ?? {};
    parts.push(`check inter ${c.interMs ?? 500}ms fall ${c.fall ?? 2} rise ${c.rise ?? 1}`);
    if (c.port !== undefined) parts.push(`port ${c.port}`);
  }
  if (backup) parts.push('backup');
  if (o.extraServerParams) parts.push(o.extraServerParams);
  return parts.join(' ');
}

/** The config the lab runs; pure so it can be checked without starting anything. */
export function renderHaproxyConfig(o: StartHaproxyOptions, socketPath: string): string {
  validate(o);
  const bind = o.bind ?? '127.0.0.50';
  const write = o.writeBackend ?? 'galera_write';
  const read = o.readBackend ?? 'galera_read';
  const balance = o.balance ?? 'leastconn';
  const single = (o.writeMode ?? 'single-active') === 'single-active';
  return [
    '# Generated by test/lab/haproxy-lab.ts for one lab run; removed with it.',
    'global',
    `  stats socket ${socketPath} mode 600 level admin`,
    '  stats timeout 10s',
    '  maxconn 500',
    `  hard-stop-after ${o.hardStopAfterMs ?? 10_000}ms`,
    '',
    'defaults',
    '  mode tcp',
    '  timeout connect 1s',
    '  timeout client 1h',
    '  timeout server 1h',
    '  timeout check 1s',
    '',
    `frontend ${write}_fe`,
    `  bind ${bind}:${o.frontendPorts.write}`,
    `  default_backend ${write}`,
    '',
    `frontend ${read}_fe`,
    `  bind ${bind}:${o.frontendPorts.read}`,
    `  default_backend ${read}`,
    '',
    `backend ${write}`,
    `  balance ${balance}`,
    ...checkLines(o, 'write'),
    ...o.servers.map((s, i) => serverLine(o, s, single && i > 0)),
    '',
    `backend ${read}`,
    `  balance ${balance}`,
    ...checkLines(o, 'read'),
    ...o.servers.map((s) => serverLine(o, s, false)),
    '',
  ].join('\n');
}

/** Absolute path of haproxy, or a HAPROXY_NOT_INSTALLED error saying how to get it. */
export function findHaproxy(): string {
  for (const candidate of ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy']) {
    if (existsSync(candidate)) return candidate;
  }
  const probe = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  if (probe.error === undefined && probe.status === 0) return 'haproxy';
  throw new HaproxyLabError('HAPROXY_NOT_INSTALLED', 'haproxy is not installed (looked in /usr/sbin, /usr/local/sbin, /usr/bin and PATH); install it with: apt-get install -y haproxy');
}

export function haproxyAvailable(): boolean {
  try {
    findHaproxy();
    return true;
  } catch {
    return false;
  }
}

// ---- process registry: whatever happens to the test process, no haproxy outlives it ----

interface Live {
  pid: () => number | null;
  dir: string;
  ownsDir: boolean;
}

const live = new Set<Live>();
let hooksInstalled = false;

function killGroupSync(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole process group (detached spawn makes the master its leader), so
    // workers and old workers still serving after a reload go too.
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function cleanupAllSync(): void {
  for (const l of live) {
    const pid = l.pid();
    if (pid !== null) killGroupSync(pid, 'SIGKILL');
    if (l.ownsDir) rmSync(l.dir, { recursive: true, force: true });
  }
  live.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupAllSync);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      cleanupAllSync();
      process.exit(code);
    });
  }
}

// ---- the lab instance ----

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

class Lab implements HaproxyLab {
  readonly configPath: string;
  readonly socketPath: string;
  readonly logPath: string;
  readonly frontends: { write: Endpoint; read: Endpoint };
  readonly writeBackend: string;
  readonly readBackend: string;
  private child: ChildProcess | null = null;
  private closing: Promise<void> | null = null;
  private readonly requester = new SocketRequester();
  private readonly entry: Live;

  constructor(
    readonly dir: string,
    ownsDir: boolean,
    private readonly binary: string,
    private readonly startTimeoutMs: number,
    options: StartHaproxyOptions,
  ) {
    this.configPath = join(dir, 'haproxy.cfg');
    this.socketPath = join(dir, 'admin.sock');
    this.logPath = join(dir, 'haproxy.log');
    const bind = options.bind ?? '127.0.0.50';
    this.frontends = {
      write: { host: bind, port: options.frontendPorts.write },
      read: { host: bind, port: options.frontendPorts.read },
    };
    this.writeBackend = options.writeBackend ?? 'galera_write';
    this.readBackend = options.readBackend ?? 'galera_read';
    this.entry = { pid: () => this.child?.pid ?? null, dir, ownsDir };
    live.add(this.entry);
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new HaproxyLabError('HAPROXY_CLOSED', 'haproxy is not running');
    return pid;
  }

  admin(line: string): Promise<string> {
    return this.requester.request({
      endpoint: { path: this.socketPath },
      line,
      timeoutMs: 2000,
      maxReplyBytes: 4 * 1024 * 1024,
      peer: 'lab HAProxy runtime API',
    });
  }

  async workerPid(): Promise<number> {
    const m = /^Pid: (\d+)$/m.exec(await this.admin('show info'));
    if (!m?.[1]) throw new HaproxyLabError('HAPROXY_START_FAILED', `'show info' has no Pid line (log: ${this.logPath})`);
    return Number(m[1]);
  }

  async start(): Promise<void> {
    const log = openSync(this.logPath, 'a');
    try {
      // -W: master-worker, so SIGUSR2 reloads like systemd's `reload` does; -db: stay in the
      // foreground so the PID we hold is the master's.
      this.child = spawn(this.binary, ['-W', '-db', '-f', this.configPath], {
        detached: true,
        stdio: ['ignore', log, log],
      });
    } finally {
      closeSync(log);
    }
    this.child.unref();
    const spawnError = new Promise<Error>((resolve) => this.child?.once('error', resolve));
    await this.waitAnswer(null, spawnError);
  }

  /** Polls `show info` until a worker other than `notPid` answers; fails fast if haproxy exits. */
  private async waitAnswer(notPid: number | null, spawnError?: Promise<Error>): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    let failure: Error | null = null;
    void spawnError?.then((e) => (failure = e));
    while (Date.now() < deadline) {
      if (failure !== null) {
        throw new HaproxyLabError('HAPROXY_START_FAILED', `could not run ${this.binary}: ${(failure as Error).message}`);
      }
      const child = this.child;
      if (child === null || child.exitCode !== null || child.signalCode !== null) {
        throw new HaproxyLabError('HAPROXY_START_FAILED', `haproxy exited during start-up; log:\n${tail(this.logPath)}`);
      }
      try {
        const pid = await this.workerPid();
        if (pid !== notPid) return;
      } catch {
        // socket not there yet, or the old worker still answering
      }
      await sleep(50);
    }
    throw new HaproxyLabError('HAPROXY_TIMEOUT', `haproxy's admin socket ${this.socketPath} did not answer within ${this.startTimeoutMs} ms; log:\n${tail(this.logPath)}`);
  }

  async reload(): Promise<void> {
    if (this.closing) throw new HaproxyLabError('HAPROXY_CLOSED', 'reload() after close()');
    const before = await this.workerPid();
    process.kill(this.pid, 'SIGUSR2');
    await this.waitAnswer(before);
  }

  async restart(): Promise<void> {
    if (this.closing) throw new HaproxyLabError('HAPROXY_CLOSED', 'restart() after close()');
    await this.stopProcess();
    await this.start();
  }

  private async stopProcess(): Promise<void> {
    const child = this.child;
    if (child?.pid === undefined) return;
    killGroupSync(child.pid, 'SIGTERM');
    if (!(await waitExit(child, 3000))) {
      killGroupSync(child.pid, 'SIGKILL');
      await waitExit(child, 3000);
    }
    // Workers of the group that outlived the master (they poll it) are killed with the group.
    killGroupSync(child.pid, 'SIGKILL');
    this.child = null;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.requester.close('lab HAProxy closed');
      await this.stopProcess();
      if (this.entry.ownsDir) rmSync(this.dir, { recursive: true, force: true });
      live.delete(this.entry);
    })();
    return this.closing;
  }
}

export async function startHaproxy(options: StartHaproxyOptions): Promise<HaproxyLab> {
  const binary = findHaproxy();
  validate(options);
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'minder-haproxy-'));
  if (!ownsDir) mkdirSync(dir, { recursive: true });
  installHooks();
  const lab = new Lab(dir, ownsDir, binary, options.startTimeoutMs ?? 10_000, options);
  try {
    writeFileSync(lab.configPath, renderHaproxyConfig(options, lab.socketPath), { mode: 0o600 });
    const check = spawnSync(binary, ['-c', '-f', lab.configPath], { encoding: 'utf8' });
    if (check.status !== 0) {
      throw new HaproxyLabError('HAPROXY_BAD_CONFIG', `haproxy -c rejected ${lab.configPath}:\n${check.stdout}${check.stderr}`);
    }
    await lab.start();
    return lab;
  } catch (err) {
    await lab.close();
    throw err;
  }
}

// ---- stand-in database nodes and clients ----

export interface NameServer {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** Connections accepted since start (or since resetCounts). */
  accepted: number;
  /** Connections open now. */
  readonly open: Set<Socket>;
}

export interface NameServers {
  readonly servers: ReadonlyMap<string, NameServer>;
  resetCounts(): void;
  close(): Promise<void>;
}

export async function startNameServers(specs: LabServer[]): Promise<NameServers> {
  const listeners: Server[] = [];
  const servers = new Map<string, NameServer>();
  const closeAll = async (): Promise<void> => {
    for (const s of servers.values()) for (const sock of s.open) sock.destroy();
    await Promise.all(listeners.map((l) => new Promise<void>((r) => l.close(() => r()))));
  };
  try {
    for (const spec of specs) {
      const state: NameServer = { ...spec, accepted: 0, open: new Set() };
      servers.set(spec.name, state);
      const listener = createServer((sock) => {
        state.accepted++;
        state.open.add(sock);
        sock.on('close', () => state.open.delete(sock));
        sock.on('error', () => undefined); // a client cut by HAProxy is expected here
        sock.write(`${spec.name}\n`);
        let buf = '';
        sock.on('data', (d: Buffer) => {
          buf += d.toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            sock.write(`${spec.name}:${buf.slice(0, nl)}\n`);
            buf = buf.slice(nl + 1);
          }
        });
      });
      listeners.push(listener);
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(spec.port, spec.address, () => resolve());
      });
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return {
    servers,
    resetCounts: () => {
      for (const s of servers.values()) s.accepted = 0;
    },
    close: closeAll,
  };
}

export interface LabClient {
  /** The name of the server HAProxy routed this connection to. */
  readonly server: string;
  /** Sends a line and resolves with the echoed reply (`<server>:<line>`). */
  roundTrip(line: string, timeoutMs?: number): Promise<string>;
  readonly isClosed: () => boolean;
  /** Resolves when the connection is closed by either side. */
  readonly closed: Promise<void>;
  destroy(): void;
}

/** Connects through a frontend and waits for the backend's greeting line. */
export function openLabClient(to: Endpoint, timeoutMs = 3000): Promise<LabClient> {
  return new Promise((resolve, reject) => {
    const sock = connect(to.port, to.host);
    let buf = '';
    let closed = false;
    const waiters: Array<(line: string | null) => void> = [];
    const closedP = new Promise<void>((r) => sock.once('close', () => r()));
    void closedP.then(() => {
      closed = true;
      for (const w of waiters.splice(0)) w(null);
    });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no greeting through ${to.host}:${to.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('error', () => undefined); // surfaced as 'close'
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        waiters.shift()?.(line);
      }
    });
    waiters.push((greeting) => {
      clearTimeout(timer);
      if (greeting === null) {
        reject(new Error(`connection through ${to.host}:${to.port} closed before a greeting`));
        return;
      }
      resolve({
        server: greeting,
        isClosed: () => closed,
        closed: closedP,
        destroy: () => sock.destroy(),
        roundTrip: (line, ms = 2000) =>
          new Promise<string>((res, rej) => {
            if (closed) {
              rej(new Error('connection is closed'));
              return;
            }
            const waiter = (reply: string | null): void => {
              clearTimeout(t);
              if (reply === null) rej(new Error('connection closed before the echo'));
              else res(reply);
            };
            // On timeout the waiter leaves the queue, so a late echo cannot answer the next call.
            const t = setTimeout(() => {
              const i = waiters.indexOf(waiter);
              if (i >= 0) waiters.splice(i, 1);
              rej(new Error(`no echo within ${ms} ms`));
            }, ms);
            waiters.push(waiter);
            sock.write(`${line}\n`);
          }),
      });
    });
  });
}
