// A galera-minder site around a Galera lab, for lab tests and benchmarks: the site config,
// key and password files in a temp dir, the hook installed for mariadbd, dbservers run as real
// `node dist/src/minder.js run` processes, and a test correspondent standing in for the
// arbitrator and a dbclient (real PostOffices on loopback UDP).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { realClock } from '../../src/correspondents/clock.js';
import { type Inbound, PostOffice } from '../../src/correspondents/post-office.js';
import { UdpTransport } from '../../src/correspondents/udp-transport.js';
import { silentLogger } from '../../src/log.js';
import { writeNewKeyFile } from '../../src/site/key-files.js';
import type { PartyId } from '../../src/protocol/party.js';
import type { BodyOf, DbStatusReport, Verb } from '../../src/protocol/verbs.js';
import { directoryOf, loadKeyring, loadSiteConfigFile } from '../../src/site/load-config.js';
import type { DbserverParty, SiteConfig } from '../../src/site/schema.js';
import { mathRng } from '../../src/util/rng.js';
import type { GaleraLab } from './galera-lab.js';
import { MINDER_JS, REPO } from '../support/repo.js';
import { mysqlAccount } from './lab-host.js';
import { labHookScript, writeSocketMap } from '../support/lab-hook.js';

const execFileAsync = promisify(execFile);
export { REPO };
/** The shell hook (one line to the dbserver's unix socket) and the Node hook kept for migration. */
export const HOOK_SCRIPT = join(REPO, 'systemd/wsrep-notify.sh');
export const UDP_HOOK_SCRIPT = join(REPO, 'systemd/wsrep-notify-udp.sh');

export const ARBITRATOR: PartyId = 'arbitrator:1';
export const DBCLIENT: PartyId = 'dbclient:1';
export const dbserverOf = (i: number): PartyId => `dbserver:${i}`;
const UDP_BASE = 17_000;

/**
 * Compiles what the lab runs as real processes (the CLI and the hook) into dist/, as the build
 * would. tsc's exit code is not trusted: other half-finished files may fail type checks while
 * ours emit fine, so the outputs themselves are checked.
 */
export async function buildForLab(): Promise<void> {
  const tsc = join(REPO, 'node_modules/.bin/tsc');
  const args = [
    '--rootDir',
    REPO,
    '--outDir',
    join(REPO, 'dist'),
    '--target',
    'ES2022',
    '--module',
    'NodeNext',
    '--moduleResolution',
    'NodeNext',
    '--types',
    'node',
    '--skipLibCheck',
    '--sourceMap',
    '--esModuleInterop',
    '--resolveJsonModule',
    join(REPO, 'src/minder.ts'),
    join(REPO, 'src/hook/main.ts'),
  ];
  await execFileAsync(tsc, args, { cwd: REPO, maxBuffer: 16 << 20 }).catch(() => undefined);
  for (const f of ['dist/src/minder.js', 'dist/src/hook/main.js', 'dist/src/roles/dbserver/daemon.js']) {
    if (!existsSync(join(REPO, f))) throw new Error(`build for the lab did not produce ${f}`);
  }
}

export interface ReportSeen {
  from: PartyId;
  to: PartyId;
  at: number;
  body: DbStatusReport;
}

/** The arbitrator and a dbclient as the dbservers see them: they listen, ack, and can send. */
export class TestCorrespondents {
  readonly reports: ReportSeen[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly offices: Map<PartyId, PostOffice>) {
    for (const [to, po] of offices) {
      po.onMessage((m: Inbound) => {
        if (m.verb !== 'db_status_report') return;
        this.reports.push({ from: m.from, to, at: Date.now(), body: m.body as DbStatusReport });
        for (const w of this.waiters.splice(0)) w();
      });
    }
  }

  static async open(cfg: SiteConfig): Promise<TestCorrespondents> {
    const keyring = loadKeyring(cfg);
    const offices = new Map<PartyId, PostOffice>();
    for (const id of [ARBITRATOR, DBCLIENT]) {
      const p = cfg.parties.find((x) => x.id === id);
      if (!p) throw new Error(`${id} missing from the site config`);
      offices.set(
        id,
        new PostOffice({
          self: id,
          site: cfg.site,
          keyring,
          transport: await UdpTransport.bind(p.host, p.port),
          clock: realClock,
          rng: mathRng,
          incarnation: Date.now(),
          directory: directoryOf(cfg),
          ackTimeoutMs: cfg.timings.ackTimeout,
          staleAfterMs: cfg.timings.staleAfter,
          maxClockSkewMs: cfg.timings.maxClockSkew,
          logger: silentLogger(),
        }),
      );
    }
    return new TestCorrespondents(offices);
  }

  send<V extends Verb>(to: PartyId, verb: V, body: BodyOf<V>): void {
    (this.offices.get(ARBITRATOR) as PostOffice).publish(to, verb, body);
  }

  latest(from: PartyId, to: PartyId = ARBITRATOR): ReportSeen | undefined {
    return this.reports.filter((r) => r.from === from && r.to === to).at(-1);
  }

  /** The first report from `from` (to the arbitrator) received at or after `since` that satisfies `pred`. */
  async waitReport(from: PartyId, pred: (r: DbStatusReport) => boolean, timeoutMs: number, since = 0, what = 'a matching report'): Promise<ReportSeen> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.reports.find((r) => r.from === from && r.to === ARBITRATOR && r.at >= since && pred(r.body));
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) {
        const last = this.latest(from);
        throw new Error(`no ${what} from ${from} within ${timeoutMs} ms; last: ${last ? JSON.stringify(last.body).slice(0, 600) : 'none'}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async close(): Promise<void> {
    for (const po of this.offices.values()) await po.close();
  }
}

export interface LogLine {
  time: string;
  event?: string;
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A dbserver as a real process: `node dist/src/minder.js run --config … --as dbserver:N`. */
export class DbserverProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  private exited: Promise<void>;

  private constructor(
    readonly id: PartyId,
    readonly child: ChildProcess,
  ) {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.stderr.push(line);
        }
        nl = buf.indexOf('\n');
      }
    });
    child.stderr?.on('data', (d: Buffer) => void this.stderr.push(d.toString('utf8')));
    this.exited = new Promise((r) => child.once('exit', () => r()));
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  /** `minder`: the command to run (default: node on the checkout's dist/src/minder.js). */
  static async start(configPath: string, id: PartyId, minder: string[] = [process.execPath, MINDER_JS]): Promise<DbserverProcess> {
    const [cmd, ...pre] = minder as [string, ...string[]];
    const child = spawn(cmd, [...pre, 'run', '--config', configPath, '--as', id, '--log-level', 'debug'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new DbserverProcess(id, child);
    const deadline = Date.now() + 30_000;
    while (!p.logs.some((l) => l.event === 'started')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${id} did not start: ${p.stderr.join('').slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return p;
  }

  events(event: string): LogLine[] {
    return this.logs.filter((l) => l.event === event);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM (a clean stop) or SIGKILL (a crash), then wait for the process to be gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}

const live = new Set<DbserverProcess>();
process.once('exit', () => {
  for (const p of live) p.child.kill('SIGKILL');
});

export interface SiteOptions {
  reportInterval: string;
  staleAfter?: string;
  /** Where the dbservers log in to mariadbd: this user must already exist on the cluster. */
  user: string;
  password: string;
  /** Nodes whose dbserver connects over the unix socket (the user must exist @localhost too). */
  socketNodes?: string[];
}

/** Site config, keys and the hook wiring for a lab; the hook script path goes to the lab's notifyCmd. */
export class MinderSite {
  readonly configPath: string;
  readonly notifyFile: string;
  readonly hookCmd: string;
  readonly hookTimingLog: string;
  private cfg: SiteConfig | undefined;

  private constructor(readonly dir: string) {
    this.configPath = join(dir, 'site.yaml');
    this.notifyFile = join(dir, 'hook-sockets.sh');
    this.hookCmd = join(dir, 'wsrep-notify-lab.sh');
    this.hookTimingLog = join(dir, 'hook-timing.log');
  }

  /**
   * Prepares the files that must exist before mariadbd starts (the hook and its key); the site
   * config follows in `configure`, once the lab's datadirs are known.
   */
  /** `hookScript`: the shell hook to run (the checkout's by default, an installed one for the package test). */
  static prepare(hookScript: string = HOOK_SCRIPT): MinderSite {
    const dir = mkdtempSync(join(tmpdir(), 'minder-site-'));
    chmodSync(dir, 0o755);
    const site = new MinderSite(dir);
    const key = join(dir, 'site.key');
    writeNewKeyFile(key);
    // The hook runs as mysql (mariadbd's user) and reads the key: in the lab the key file belongs
    // to mysql, mode 0600; root's dbservers read it anyway. Production: see docs/dbserver.md.
    const mysql = mysqlAccount();
    if (mysql) chownSync(key, mysql.uid, mysql.gid);
    // The lab's notifyCmd: the shipped shell hook with the socket of the node's own dbserver
    // (picked by the datadir mariadbd runs it in), timed around the call (start and end in ns)
    // so that the hook's run time as mariadbd sees it can be measured. Until the site is
    // configured (no socket map yet) it exits at once, as fast as no hook.
    writeFileSync(site.hookCmd, labHookScript(site.notifyFile, `${hookScript} "$sock" "$@"`, ['t0=$(date +%s%N)'], [`echo "$t0 $(date +%s%N) $*" >> ${site.hookTimingLog}`, 'exit 0']), {
      mode: 0o755,
    });
    writeFileSync(site.hookTimingLog, '', { mode: 0o666 });
    chmodSync(site.hookTimingLog, 0o666);
    return site;
  }

  configure(lab: GaleraLab, o: SiteOptions): SiteConfig {
    const password = join(this.dir, 'mariadb.password');
    writeFileSync(password, `${o.password}\n`, { mode: 0o600 });
    const nodes = lab.nodes();
    const dcs = [...new Set(nodes.map((n) => n.dc))];
    const yaml = [
      'site: lab',
      'dataCentres:',
      ...dcs.map((dc, i) => `  ${dc}: { priority: ${i + 1} }`),
      'keys: { send: 1, files: [ { id: 1, path: site.key } ] }',
      `timings: { reportInterval: ${o.reportInterval}, staleAfter: ${o.staleAfter ?? '2h'}, ackTimeout: 1s }`,
      'stateDir: state',
      'parties:',
      `  - { id: ${ARBITRATOR}, host: 127.0.0.1, port: ${UDP_BASE + 100} }`,
      `  - { id: ${DBCLIENT}, host: 127.0.0.1, port: ${UDP_BASE + 101}, loadBalancer: { kind: haproxy, socket: ${join(this.dir, 'no-haproxy.sock')} } }`,
      ...nodes.map(
        (n) =>
          `  - { id: ${dbserverOf(n.index)}, host: ${n.address}, port: ${UDP_BASE + n.index}, dc: ${n.dc}, nodeName: ${n.name}, ` +
          `mariadb: { ${(o.socketNodes ?? []).includes(n.name) ? `socket: ${n.socket}` : `host: ${n.address}, port: ${n.port}`}, user: ${o.user}, passwordFile: mariadb.password, datadir: ${n.datadir} }, ` +
          `hookSocket: ${this.hookSocketOf(n.index)} }`,
      ),
      '',
    ].join('\n');
    writeFileSync(this.configPath, yaml);
    this.cfg = loadSiteConfigFile(this.configPath);
    return this.cfg;
  }

  /** dbserver:i's socket for the shell hook. */
  hookSocketOf(index: number): string {
    return join(this.dir, `hook-${index}.sock`);
  }

  /** Tells each node's hook its dbserver's socket (what `wsrep_notify_cmd = … SOCKET` does on a host). */
  async writeHookFile(): Promise<void> {
    const dbservers = (this.cfg?.parties ?? []).filter((p): p is DbserverParty => p.id.startsWith('dbserver:'));
    writeSocketMap(
      this.notifyFile,
      dbservers.map((p) => ({ datadir: p.mariadb.datadir, socket: p.hookSocket })),
    );
  }

  /** Writes the Node hook's file with `minder notify-setup`, as an operator would (the UDP hook, kept for migration). */
  async writeUdpHookFile(out: string): Promise<void> {
    const ids = (this.cfg?.parties ?? []).filter((p) => p.id.startsWith('dbserver:')).flatMap((p) => ['--as', p.id]);
    await execFileAsync(process.execPath, [MINDER_JS, 'notify-setup', '--config', this.configPath, ...ids, '--out', out], { cwd: REPO });
  }

  /** Makes the hook exit at once (no socket map): mariadbd then runs it but nothing is pushed. */
  removeHookFile(): void {
    rmSync(this.notifyFile, { force: true });
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
