import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real etcd cluster (Debian's etcd-server 3.4) on loopback for the lab suite: N members in a
 * temp dir, each on its own free client and peer port, started as child processes and stopped
 * by PID — also when a test fails or the runner is interrupted (exit and signal hooks kill
 * what is left and remove the dir). Members can be stopped, paused (SIGSTOP) and resumed one at
 * a time to take the cluster below quorum.
 */
export const ETCD_BIN = '/usr/bin/etcd';
export const ETCDCTL_BIN = '/usr/bin/etcdctl';

export function etcdAvailable(): { ok: true } | { ok: false; reason: string } {
  if (!existsSync(ETCD_BIN)) return { ok: false, reason: `${ETCD_BIN} missing (apt-get install -y --no-install-recommends etcd-server etcd-client)` };
  return { ok: true };
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logPath: string;
  proc: ChildProcess | null;
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const running = new Set<EtcdCluster>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const c of running) c.killAllSync();
  };
  process.once('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

export class EtcdCluster {
  readonly members: EtcdMember[] = [];

  private constructor(readonly dir: string) {}

  /** Starts `size` members on 127.0.0.1 and waits until the cluster answers a linearizable read. */
  static async start(size = 3, timeoutMs = 20_000): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'minder-etcd-'));
    const c = new EtcdCluster(dir);
    running.add(c);
    hookExit();
    try {
      for (let i = 1; i <= size; i++) {
        const name = `etcd${i}`;
        c.members.push({
          name,
          clientUrl: `http://127.0.0.1:${await freePort('127.0.0.1')}`,
          peerUrl: `http://127.0.0.1:${await freePort('127.0.0.1')}`,
          dataDir: join(dir, name),
          logPath: join(dir, `${name}.log`),
          proc: null,
        });
      }
      for (const m of c.members) c.spawnMember(m);
      await c.waitHealthy(timeoutMs);
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  private initialCluster(): string {
    return this.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  }

  private spawnMember(m: EtcdMember): void {
    mkdirSync(m.dataDir, { recursive: true, mode: 0o700 });
    const fd = openSync(m.logPath, 'a');
    const args = [
      '--name',
      m.name,
      '--data-dir',
      m.dataDir,
      '--listen-client-urls',
      m.clientUrl,
      '--advertise-client-urls',
      m.clientUrl,
      '--listen-peer-urls',
      m.peerUrl,
      '--initial-advertise-peer-urls',
      m.peerUrl,
      '--initial-cluster',
      this.initialCluster(),
      '--initial-cluster-state',
      existsSync(join(m.dataDir, 'member')) ? 'existing' : 'new',
      '--initial-cluster-token',
      'minder-lab',
      // Loopback: a short heartbeat and election keep the lab's failovers quick.
      '--heartbeat-interval',
      '100',
      '--election-timeout',
      '1000',
      '--log-level',
      'warn',
      '--logger',
      'zap',
    ];
    m.proc = spawn(ETCD_BIN, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.env['ETCD_UNSUPPORTED_ARCH'] ?? '' } });
  }

  /** `etcdctl endpoint health` against every running member (all must answer). */
  healthy(endpoints = this.members.filter((m) => m.proc).map((m) => m.clientUrl)): boolean {
    try {
      execFileSync(ETCDCTL_BIN, ['--endpoints', endpoints.join(','), '--command-timeout', '2s', 'endpoint', 'health'], { stdio: 'pipe', env: { ...process.env, ETCDCTL_API: '3' } });
      return true;
    } catch {
      return false;
    }
  }

  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!this.healthy()) {
      for (const m of this.members) {
        if (m.proc && m.proc.exitCode !== null) throw new Error(`etcd member ${m.name} exited (${m.proc.exitCode}): ${this.tail(m)}`);
      }
      if (Date.now() > end) throw new Error(`etcd cluster not healthy after ${timeoutMs} ms: ${this.members.map((m) => `${m.name}: ${this.tail(m)}`).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  tail(m: EtcdMember, n = 3): string {
    try {
      return readFileSync(m.logPath, 'utf8').trim().split('\n').slice(-n).join(' / ');
    } catch {
      return '(no log)';
    }
  }

  member(name: string): EtcdMember {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no etcd member ${name}`);
    return m;
  }

  /** SIGKILL one member (its data dir stays; restart() brings it back as the same member). */
  async kill(name: string): Promise<void> {
    const m = this.member(name);
    const p = m.proc;
    m.proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await exited;
  }

  restart(name: string): void {
    const m = this.member(name);
    if (m.proc) throw new Error(`${name} is running`);
    this.spawnMember(m);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m.name)));
    running.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  killAllSync(): void {
    for (const m of this.members) if (m.proc && m.proc.exitCode === null) m.proc.kill('SIGKILL');
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      /* best effort at exit */
    }
  }
}
