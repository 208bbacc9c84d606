// What the lab needs from the host: binaries, root, the mysql account, free addresses, and an
// iptables chain of our own. Kept apart from the cluster logic so it can be checked cheaply
// (labAvailable) before any test decides to run.

import { execFile, execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { GALERA_PROVIDER } from './lab-files.js';
import { INSTALL_HINT, LabError, describeError } from './lab-errors.js';

const execFileAsync = promisify(execFile);

/** Our own chain: flushing it heals every cut without touching anybody else's rules. */
export const LAB_CHAIN = 'MINDER_LAB';

// /usr/sbin is often missing from a non-login PATH, and that is where mariadbd lives.
const EXTRA_BIN_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

export function findBinary(name: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

export interface HostTools {
  mariadbd: string;
  installDb: string;
  iptables: string;
}

export interface MysqlAccount {
  uid: number;
  gid: number;
}

export function mysqlAccount(): MysqlAccount | null {
  if (!existsSync('/etc/passwd')) return null;
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === 'mysql' && uid !== undefined && gid !== undefined) {
      return { uid: Number(uid), gid: Number(gid) };
    }
  }
  return null;
}

function missing(what: string): LabError {
  return new LabError('LAB_MISSING_BINARY', `Galera lab: ${what} not found. Install the lab's packages with: ${INSTALL_HINT} (iptables too, for network cuts)`);
}

/** Everything a lab needs that can be checked without starting anything. */
export function checkHost(): { tools: HostTools; account: MysqlAccount } {
  if (process.platform !== 'linux') {
    throw new LabError('LAB_NOT_LINUX', `Galera lab needs Linux (this is ${process.platform})`);
  }
  const mariadbd = findBinary('mariadbd');
  if (mariadbd === null) throw missing('mariadbd');
  const installDb = findBinary('mariadb-install-db');
  if (installDb === null) throw missing('mariadb-install-db');
  if (!existsSync(GALERA_PROVIDER)) throw missing(GALERA_PROVIDER);
  if (findBinary('rsync') === null) throw missing('rsync (used for SST)');
  const iptables = findBinary('iptables');
  if (iptables === null) throw missing('iptables');
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new LabError('LAB_NOT_ROOT', 'Galera lab must run as root: it chowns node directories to mysql and cuts the network with iptables');
  }
  const account = mysqlAccount();
  if (account === null) {
    throw new LabError('LAB_NO_MYSQL_USER', `Galera lab: no 'mysql' system user. ${INSTALL_HINT}`);
  }
  return { tools: { mariadbd, installDb, iptables }, account };
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** Who holds a listening port, from `ss`; best effort, only to make the error useful. */
async function portHolder(host: string, port: number): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ss', ['-ltnpH', `sport = :${port}`]);
    // Only the local-address column counts: the peer column of every listener is "0.0.0.0:*".
    const holds = (local: string | undefined): boolean => local === `${host}:${port}` || /^(\*|0\.0\.0\.0|\[::\]):\d+$/.test(local ?? '');
    const lines = stdout.split('\n').filter((l) => holds(l.trim().split(/\s+/)[3]));
    return lines.length > 0 ? lines.map((l) => l.trim().replace(/\s+/g, ' ')).join('; ') : 'unknown';
  } catch (err) {
    return `unknown (ss failed: ${describeError(err)})`;
  }
}

/** Refuses early, naming the holder, when a port of one of our addresses is taken. */
export async function assertPortsFree(host: string, ports: readonly number[]): Promise<void> {
  for (const port of ports) {
    if (await canListen(host, port)) continue;
    const holder = await portHolder(host, port);
    throw new LabError('LAB_PORT_BUSY', `Galera lab: ${host}:${port} is already in use (held by: ${holder}). A system mariadbd on 127.0.0.1 is fine; stop whatever holds this address (a stale lab?).`);
  }
}

function mysqlCanExecute(path: string): boolean {
  try {
    execFileSync('runuser', ['-u', 'mysql', '--', 'test', '-x', path, '-a', '-r', path], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * mariadbd runs wsrep_notify_cmd as the mysql user; a hook it cannot execute fails silently
 * from the test's point of view, so make it executable or refuse.
 */
export function ensureMysqlCanExecute(path: string): void {
  if (!path.startsWith('/')) {
    throw new LabError('LAB_BAD_OPTIONS', `notifyCmd must be an absolute path, got ${path}`);
  }
  if (!existsSync(path)) {
    throw new LabError('LAB_BAD_OPTIONS', `notifyCmd ${path} does not exist`);
  }
  if (mysqlCanExecute(path)) return;
  chmodSync(path, statSync(path).mode | 0o555);
  if (mysqlCanExecute(path)) return;
  throw new LabError(
    'LAB_NOTIFY_NOT_EXECUTABLE',
    `notifyCmd ${path} is not executable by the mysql user even after chmod a+rx: a directory on its path is probably not traversable by mysql (e.g. under /root)`,
  );
}

// ---- machine-wide lab lock -------------------------------------------------------------------

// Every lab uses the same addresses, so labs of different processes (several engineers' test
// runs) must take turns. A listening abstract unix socket is the mutex: the kernel frees it
// when the holder dies, so a crashed run can never leave a stale lock, and the holder answers
// connections with who it is, for the error message.
const LOCK_ADDR = '\0galera-minder-lab-lock';

export interface LabLock {
  release(): void;
}

function tryListen(info: string): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end(info);
    });
    server.once('error', () => resolve(null));
    server.listen(LOCK_ADDR, () => resolve(server));
  });
}

function lockHolder(): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const sock = connect(LOCK_ADDR);
    const done = (text: string): void => {
      sock.destroy();
      resolve(text);
    };
    sock.setTimeout(1000, () => done(data || 'unknown (holder did not answer)'));
    sock.on('data', (chunk: Buffer) => {
      data += chunk.toString('utf8');
    });
    sock.on('end', () => done(data || 'unknown'));
    sock.on('error', (err) => done(`unknown (${err.message})`));
  });
}

// Re-entrant within a process: a second lab here must not wait for ourselves; it goes on to the
// port check, which names the clash.
let held: { server: Server; count: number } | undefined;

function holdOnce(): LabLock {
  let released = false;
  return {
    release: () => {
      if (released || held === undefined) return;
      released = true;
      held.count -= 1;
      if (held.count === 0) {
        held.server.close();
        held = undefined;
      }
    },
  };
}

export async function acquireLabLock(info: Record<string, unknown>, waitMs: number): Promise<LabLock> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (held !== undefined) {
      held.count += 1;
      return holdOnce();
    }
    const server = await tryListen(JSON.stringify(info));
    if (server !== null) {
      server.unref(); // the lock must never keep a test process alive
      held = { server, count: 1 };
      return holdOnce();
    }
    if (Date.now() >= deadline) {
      throw new LabError('LAB_BUSY', `another Galera lab is running on this machine (holder: ${await lockHolder()}); waited ${waitMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// ---- iptables -------------------------------------------------------------------------------

async function iptables(bin: string, args: string[]): Promise<void> {
  try {
    await execFileAsync(bin, ['-w', ...args]);
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    throw new LabError('LAB_COMMAND_FAILED', `iptables ${args.join(' ')} failed: ${typeof stderr === 'string' ? stderr.trim() : describeError(err)}`, { cause: err });
  }
}

async function iptablesOk(bin: string, args: string[]): Promise<boolean> {
  try {
    await execFileAsync(bin, ['-w', ...args]);
    return true;
  } catch {
    return false;
  }
}

export async function ensureChain(bin: string): Promise<void> {
  if (!(await iptablesOk(bin, ['-S', LAB_CHAIN]))) await iptables(bin, ['-N', LAB_CHAIN]);
  if (!(await iptablesOk(bin, ['-C', 'INPUT', '-j', LAB_CHAIN]))) {
    // First in INPUT, so no earlier ACCEPT (e.g. for established flows) can bypass the cut.
    await iptables(bin, ['-I', 'INPUT', '1', '-j', LAB_CHAIN]);
  }
}

export async function dropBetween(bin: string, a: string, b: string): Promise<void> {
  await iptables(bin, ['-A', LAB_CHAIN, '-s', a, '-d', b, '-j', 'DROP']);
  await iptables(bin, ['-A', LAB_CHAIN, '-s', b, '-d', a, '-j', 'DROP']);
}

export async function flushChain(bin: string): Promise<void> {
  if (await iptablesOk(bin, ['-S', LAB_CHAIN])) await iptables(bin, ['-F', LAB_CHAIN]);
}

/** Removes the hook(s) and the chain; fine when neither exists. */
export async function removeChain(bin: string): Promise<void> {
  // A crashed run may have left more than one hook; bounded so a broken iptables cannot spin.
  for (let i = 0; i < 16 && (await iptablesOk(bin, ['-D', 'INPUT', '-j', LAB_CHAIN])); i++);
  await iptablesOk(bin, ['-F', LAB_CHAIN]);
  await iptablesOk(bin, ['-X', LAB_CHAIN]);
}

/** Synchronous twin of removeChain for process 'exit', where nothing async runs. */
export function removeChainSync(bin: string): void {
  const run = (args: string[]): boolean => {
    try {
      execFileSync(bin, ['-w', ...args], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 16 && run(['-D', 'INPUT', '-j', LAB_CHAIN]); i++) {
    // bounded: a sync loop at exit must never spin
  }
  run(['-F', LAB_CHAIN]);
  run(['-X', LAB_CHAIN]);
}

export async function chainExists(bin: string): Promise<boolean> {
  return iptablesOk(bin, ['-S', LAB_CHAIN]);
}

export async function chainHooked(bin: string): Promise<boolean> {
  return iptablesOk(bin, ['-C', 'INPUT', '-j', LAB_CHAIN]);
}
