import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MINDER, minderSync } from './cli.js';
import { unitNodeFlags } from './unit-flags.js';

/**
 * A whole galera-minder site on loopback for the lab suite and the demo: writes the site key,
 * the site config and the password file into a temp dir, starts `minder run` processes (the
 * compiled entrypoint, as systemd would) and stops them by PID, also when a test fails.
 */
export interface SiteNode {
  name: string;
  dc: string;
  address: string;
  port: number;
  datadir: string;
  weight?: number;
  /** The dbserver's `control` commands (docs/cold-start.md); the lab's come from coldStartControl(). */
  control?: Record<string, unknown>;
}

export interface MinderSiteOptions {
  site?: string;
  nodes: SiteNode[];
  /** DC names in priority order (first = primary DC). */
  dcs: string[];
  credentials: { user: string; password: string };
  arbitrator?: { address: string; port: number };
  /** Several arbitrators (arbitrator:1, :2, …; needs `arbitratorStore` etcd); replaces `arbitrator`. */
  arbitrators?: Array<{ address: string; port: number }>;
  /** The site config's `arbitrator` block (default: the local store). */
  arbitratorStore?: Record<string, unknown>;
  dbclients?: Array<{ address: string; port: number; dc: string; loadBalancer: Record<string, unknown> }>;
  timings?: Partial<Record<'reportInterval' | 'ackTimeout' | 'failoverPeriod' | 'staleAfter' | 'maxClockSkew' | 'makePrimaryValidFor', string>>;
  /** Party id → its `http` block (docs/observability.md); parties not named serve no HTTP. */
  http?: Record<string, Record<string, unknown>>;
  /** Let the mysql user read the key (the wsrep_notify_cmd hook runs as mysql). */
  keyOwner?: 'root' | 'mysql';
  /** The site config's coldStart block. */
  coldStart?: Record<string, unknown>;
}

const running = new Set<MinderSite>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const s of running) s.killAllSync();
  };
  process.once('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

export class MinderSite {
  readonly dir: string;
  readonly configPath: string;
  readonly keyPath: string;
  readonly procs = new Map<string, ChildProcess>();

  constructor(readonly o: MinderSiteOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'minder-site-'));
    chmodSync(this.dir, 0o755);
    this.keyPath = join(this.dir, 'site.key');
    writeFileSync(this.keyPath, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    if (o.keyOwner === 'mysql') chownMysql(this.keyPath);
    const pw = join(this.dir, 'mariadb.password');
    writeFileSync(pw, `${o.credentials.password}\n`, { mode: 0o600 });
    mkdirSync(join(this.dir, 'logs'));
    this.configPath = join(this.dir, 'site.json');
    writeFileSync(this.configPath, JSON.stringify(this.siteConfig(pw), null, 2));
    running.add(this);
    hookExit();
  }

  siteConfig(passwordFile: string): Record<string, unknown> {
    const o = this.o;
    const arbs = o.arbitrators ?? [o.arbitrator ?? { address: '127.0.0.30', port: 4800 }];
    const web = (id: string) => (o.http?.[id] ? { http: o.http[id] } : {});
    return {
      site: o.site ?? 'lab',
      dataCentres: Object.fromEntries(o.dcs.map((d, i) => [d, { priority: i + 1 }])),
      keys: { send: 1, files: [{ id: 1, path: this.keyPath }] },
      timings: { reportInterval: '2s', ackTimeout: '1s', failoverPeriod: '4s', staleAfter: '6s', makePrimaryValidFor: '20s', ...o.timings },
      ...(o.coldStart ? { coldStart: o.coldStart } : {}),
      stateDir: join(this.dir, 'state'),
      ...(o.arbitratorStore ? { arbitrator: o.arbitratorStore } : {}),
      parties: [
        ...arbs.map((a, i) => ({ id: `arbitrator:${i + 1}`, host: a.address, port: a.port, ...web(`arbitrator:${i + 1}`) })),
        ...o.nodes.map((n, i) => ({
          id: `dbserver:${i + 1}`,
          host: n.address,
          port: 4801,
          dc: n.dc,
          weight: n.weight ?? 1,
          nodeName: n.name,
          mariadb: { host: n.address, port: n.port, user: o.credentials.user, passwordFile, datadir: n.datadir },
          hookSocket: this.hookSocketOf(i),
          ...web(`dbserver:${i + 1}`),
          ...(n.control ? { control: n.control } : {}),
        })),
        ...(o.dbclients ?? []).map((c, i) => ({ id: `dbclient:${i + 1}`, host: c.address, port: c.port, dc: c.dc, loadBalancer: c.loadBalancer, ...web(`dbclient:${i + 1}`) })),
      ],
    };
  }

  /** Where dbserver:(i+1) listens for the shell hook (one socket per dbserver on a shared host). */
  hookSocketOf(i: number): string {
    return join(this.dir, `hook-${i + 1}.sock`);
  }

  partyOf(nodeName: string): string {
    const i = this.o.nodes.findIndex((n) => n.name === nodeName);
    if (i < 0) throw new Error(`no node ${nodeName}`);
    return `dbserver:${i + 1}`;
  }

  logPath(party: string): string {
    return join(this.dir, 'logs', `${party.replace(':', '-')}.log`);
  }

  /**
   * Starts `minder run --as party` with the node flags of its role's systemd unit; its
   * stdout/stderr (pino JSON) go to logPath(party).
   */
  start(party: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
    const prev = this.procs.get(party);
    if (prev && prev.exitCode === null && prev.signalCode === null) throw new Error(`${party} is already running`);
    const fd = openSync(this.logPath(party), 'a');
    const child = spawn(process.execPath, [...unitNodeFlags(party.split(':')[0] as string), MINDER, 'run', '--config', this.configPath, '--as', party], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, MINDER_LOG_LEVEL: 'debug', ...env },
    });
    this.procs.set(party, child);
    return child;
  }

  startAll(): void {
    const arbitrators = this.o.arbitrators?.length ?? 1;
    for (let i = 1; i <= arbitrators; i++) this.start(`arbitrator:${i}`);
    for (let i = 1; i <= this.o.nodes.length; i++) this.start(`dbserver:${i}`);
    for (let i = 1; i <= (this.o.dbclients ?? []).length; i++) this.start(`dbclient:${i}`);
  }

  /** SIGTERM, then SIGKILL after a bound. */
  async stop(party: string, timeoutMs = 5000): Promise<void> {
    const c = this.procs.get(party);
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(t);
  }

  /** Sends a signal to a running party (SIGSTOP/SIGCONT: a process paused past its lease); false if it is not running. */
  signal(party: string, sig: NodeJS.Signals): boolean {
    const c = this.procs.get(party);
    if (!c || c.exitCode !== null || c.signalCode !== null) return false;
    return c.kill(sig);
  }

  kill9(party: string): Promise<void> {
    const c = this.procs.get(party);
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    return exited;
  }

  /** Structured log lines of a party so far. */
  logs(party: string): Array<Record<string, unknown>> {
    let text = '';
    try {
      text = readFileSync(this.logPath(party), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  }

  async waitForLog(party: string, pred: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs(party).find(pred);
      if (hit) return hit;
      if (Date.now() > end)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for a log line of ${party}; last lines:\n${this.logs(party)
            .slice(-8)
            .map((l) => JSON.stringify(l))
            .join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** `minder command …` against this site's arbitrator (one-shot form). */
  command(args: string[], timeoutMs = 20_000) {
    return minderSync(['command', '--config', this.configPath, ...args], { timeoutMs });
  }

  async close(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((p) => this.stop(p)));
    running.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  killAllSync(): void {
    for (const c of this.procs.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      /* best effort at exit */
    }
  }
}

function chownMysql(path: string): void {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('mysql:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid && gid) chownSync(path, Number(uid), Number(gid));
}
