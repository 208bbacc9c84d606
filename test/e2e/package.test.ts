// The Debian package (issue 16): built by scripts/package-deb.sh, checked by lintian, installed
// with apt on this machine, and then run: `minder --version`, the installed units through
// systemd-analyze, and a real Galera lab whose hook and dbservers are the installed tree's
// (/usr/lib/galera-minder, /usr/bin/minder), not the checkout's. Removal keeps /etc/minder,
// purge removes it. About a minute: build ~30 s, lintian ~25 s, a 2-node lab ~15 s.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbStatusReport } from '../../src/protocol/verbs.js';
import { DbserverProcess, dbserverOf, MinderSite, TestCorrespondents } from '../lab/dbserver-site.js';
import { type GaleraLab, labAvailable, startGaleraLab } from '../lab/galera-lab.js';
import { REPO } from '../support/repo.js';

const LIB = '/usr/lib/galera-minder';
const root = process.getuid?.() === 0;
const tools = ['dpkg-deb', 'apt-get', 'lintian', 'systemd-analyze'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
const lab = labAvailable();
const why = !root ? 'not root' : !tools ? 'dpkg-deb, apt-get, lintian or systemd-analyze missing (bash scripts/setup.sh)' : !lab.ok ? lab.reason : null;
if (why) console.warn(`package.test.ts skipped: ${why}`);
const version = (JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: REPO, encoding: 'utf8' })) as { version: string }).version;

function sh(cmd: string, args: string[], timeout = 120_000): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

describe.skipIf(why !== null)('the Debian package, installed with apt', () => {
  const out = mkdtempSync(join(tmpdir(), 'minder-deb-'));
  const deb = join(out, `galera-minder_${version}_amd64.deb`);
  // A machine that had /etc/minder before this test keeps it: purge is then not tried.
  const hadEtc = existsSync('/etc/minder');
  let installed = false;

  beforeAll(() => {
    const built = sh('bash', [join(REPO, 'scripts/package-deb.sh'), out], 300_000);
    expect(built.code, built.out).toBe(0);
    expect(existsSync(deb)).toBe(true);
  }, 320_000);

  afterAll(() => {
    if (installed) sh('apt-get', ['purge', '-y', 'galera-minder']);
    rmSync(out, { recursive: true, force: true });
  });

  it('has what the issue lists, and lintian finds no error in it', () => {
    const files = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    for (const f of [
      './usr/bin/minder',
      `.${LIB}/dist/src/minder.js`,
      `.${LIB}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`,
      `.${LIB}/wsrep-notify.sh`,
      './lib/systemd/system/minder-dbserver.service',
      './usr/lib/sysusers.d/galera-minder.conf',
      './usr/lib/tmpfiles.d/galera-minder.conf',
      './usr/share/man/man1/minder.1.gz',
      './usr/share/doc/galera-minder/examples/site.example.yaml',
      './usr/share/doc/galera-minder/docs/dbserver.md',
      './usr/share/doc/galera-minder/copyright',
    ]) {
      expect(files, f).toContain(f);
    }
    // Production dependencies only.
    expect(files).not.toMatch(/node_modules\/(vitest|typescript|fast-check|@biomejs)\//);
    expect(execFileSync('dpkg-deb', ['-f', deb, 'Depends'], { encoding: 'utf8' })).toMatch(/nodejs \(>= 20\.19\)/);
    const l = sh('lintian', ['--no-tag-display-limit', deb], 180_000);
    const errors = l.out.split('\n').filter((x) => /^E: /.test(x));
    expect(errors, l.out).toEqual([]);
  }, 200_000);

  it('installs with apt: the minder user and /etc/minder exist, no daemon is started, `minder --version` is the package', () => {
    const r = sh('apt-get', ['install', '-y', '--no-install-recommends', deb], 300_000);
    expect(r.code, r.out).toBe(0);
    installed = true;
    expect(sh('getent', ['passwd', 'minder']).code).toBe(0);
    const etc = statSync('/etc/minder');
    expect(etc.mode & 0o777).toBe(0o750);
    expect(sh('/usr/bin/minder', ['--version']).out.trim()).toBe(version);
    const running = sh('pgrep', ['-f', `${LIB}/dist/src/minder.js run`]);
    expect(running.code, running.out).toBe(1);
  }, 320_000);

  it('the installed units pass systemd-analyze verify without a word about them', () => {
    const units = readdirSync('/lib/systemd/system').filter((u) => /^minder-.*\.service$/.test(u));
    expect(units.sort()).toEqual(['minder-arbitrator.service', 'minder-dbclient.service', 'minder-dbserver.service']);
    for (const u of units) {
      const r = sh('systemd-analyze', ['verify', '--man=no', `/lib/systemd/system/${u}`]);
      expect(
        r.out.split('\n').filter((x) => x.includes(u)),
        r.out,
      ).toEqual([]);
      expect(r.code, r.out).toBe(0);
    }
  });

  it('a real lab on the installed tree: mariadbd runs the installed hook, the installed dbserver hears it over its socket and reports', async () => {
    const site = MinderSite.prepare(`${LIB}/wsrep-notify.sh`);
    let galera: GaleraLab | undefined;
    let net: TestCorrespondents | undefined;
    const servers: DbserverProcess[] = [];
    try {
      galera = await startGaleraLab({
        nodes: [
          { name: 'n1', dc: 'dc1' },
          { name: 'n2', dc: 'dc1' },
        ],
        notifyCmd: site.hookCmd,
        extraMyCnf: { plugin_load_add: 'wsrep_info' },
      });
      const password = 'package-lab-password';
      await galera.exec('n1', "CREATE USER 'dbserver'@'127.0.0.%' IDENTIFIED BY ?", [password]);
      await galera.exec('n1', "GRANT SUPER ON *.* TO 'dbserver'@'127.0.0.%'");
      const cfg = site.configure(galera, { reportInterval: '1h', user: 'dbserver', password });
      await site.writeHookFile();
      net = await TestCorrespondents.open(cfg);
      for (const i of [1, 2]) servers.push(await DbserverProcess.start(site.configPath, dbserverOf(i), ['/usr/bin/minder']));
      const since = Date.now();
      await galera.stop('n2');
      const alone = (r: DbStatusReport) => r.wsrep?.clusterStatus === 'Primary' && r.wsrep.clusterSize === 1 && r.hook?.state === 'heard';
      const rep = await net.waitReport(dbserverOf(1), alone, 30_000, since, 'n1 Primary alone, its hook heard');
      expect(rep.body.wsrep?.members.map((m) => m.name)).toEqual(['n1']);
      const push = servers[0]?.events('hook_push').find((e) => e['via'] === 'socket');
      expect(push).toBeDefined();
      expect(servers[0]?.events('hook_configured').at(-1)?.['cmd']).toBe(site.hookCmd);
    } finally {
      for (const p of servers) await p.stop('SIGTERM').catch(() => undefined);
      await net?.close();
      await galera?.close();
      site.close();
    }
  }, 180_000);

  it('remove keeps /etc/minder and what the operator put there; purge removes it', () => {
    const mine = '/etc/minder/operator-note';
    writeFileSync(mine, 'kept\n');
    const rm = sh('apt-get', ['remove', '-y', 'galera-minder']);
    expect(rm.code, rm.out).toBe(0);
    expect(existsSync('/usr/bin/minder')).toBe(false);
    expect(existsSync(mine)).toBe(true);
    if (hadEtc) return;
    const purge = sh('apt-get', ['purge', '-y', 'galera-minder']);
    expect(purge.code, purge.out).toBe(0);
    installed = false;
    expect(existsSync('/etc/minder')).toBe(false);
  }, 200_000);
});
