// The site config in the database, against a real 3-node Galera lab (n1, n2 in dc a; n3 in b).
// Tests run in order and share one lab and one party (the arbitrator, run as the compiled
// `minder run --bootstrap`, as systemd would): each step starts from the state the last one left.
// Run with: npm run build && flock /tmp/minder-lab.lock npx vitest run --project lab test/e2e/config-db.test.ts

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type Bootstrap, loadBootstrapFile } from '../../src/site/bootstrap.js';
import { prepareDocument } from '../../src/site/config-document.js';
import { ConfigStore } from '../../src/site/config-store.js';
import { type GaleraLab, isNonPrimary, labAvailable, startGaleraLab } from '../lab/galera-lab.js';
import { MINDER, minderSync } from '../support/cli.js';

const availability = labAvailable();
const skipReason = availability.ok ? '' : ` — SKIPPED: ${availability.reason}`;
if (!availability.ok) console.warn(`config-db.test.ts skipped: ${availability.reason}`);

const SITE = 'cfgdb-lab';
const ARB = { host: '127.0.0.40', port: 4870 };
const NODES = ['127.0.0.11:3306', '127.0.0.12:3306', '127.0.0.13:3306'];

type Line = Record<string, unknown>;

/** One `minder run --bootstrap` process, its pino lines in a file of its own. */
class Party {
  readonly log: string;
  private child: ChildProcess | undefined;
  private exit: Promise<number | null> | undefined;
  constructor(
    readonly dir: string,
    readonly name: string,
  ) {
    this.log = join(dir, `${name}.log`);
    writeFileSync(this.log, '');
  }
  start(bootstrap: string): void {
    const fd = openSync(this.log, 'a');
    const child = spawn(process.execPath, [MINDER, 'run', '--bootstrap', bootstrap], { stdio: ['ignore', fd, fd], env: { ...process.env, MINDER_LOG_LEVEL: 'debug' } });
    closeSync(fd);
    this.child = child;
    this.exit = new Promise((r) => child.once('exit', (code) => r(code)));
  }
  lines(): Line[] {
    return readFileSync(this.log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line);
  }
  /** The first line after `from` (a line count) that matches. */
  async waitFor(pred: (l: Line) => boolean, from: number, timeoutMs = 30_000): Promise<Line> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines().slice(from).find(pred);
      if (hit) return hit;
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) throw new Error(`${this.name} exited (${this.child.exitCode}):\n${readFileSync(this.log, 'utf8').slice(-2000)}`);
      if (Date.now() > end)
        throw new Error(
          `timed out waiting for a log line of ${this.name}; last lines:\n${this.lines()
            .slice(-6)
            .map((l) => JSON.stringify(l))
            .join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  mark(): number {
    return this.lines().length;
  }
  async stop(): Promise<number | null> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return c?.exitCode ?? null;
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    const code = await this.exit;
    clearTimeout(t);
    return code ?? null;
  }
}

const event =
  (name: string, more: (l: Line) => boolean = () => true) =>
  (l: Line) =>
    l['event'] === name && more(l);

describe.skipIf(!availability.ok)(`site config in the database, on a real Galera lab${skipReason}`, () => {
  let lab: GaleraLab | undefined;
  const the = (): GaleraLab => {
    if (!lab) throw new Error('lab did not start');
    return lab;
  };
  const dir = mkdtempSync(join(tmpdir(), 'minder-cfgdb-'));
  const keyFile = join(dir, 'site.key');
  const pwFile = join(dir, 'db.password');
  const badPwFile = join(dir, 'wrong.password');
  const bootFile = join(dir, 'minder.yaml');
  let party: Party;
  let boot: Bootstrap;

  function site(edit: (d: Record<string, unknown> & { timings: Record<string, string>; parties: Line[] }) => void = () => {}): string {
    const d = {
      site: SITE,
      dataCentres: { a: { priority: 1 }, b: { priority: 2 } },
      keys: { send: 1, files: [{ id: 1, path: '/etc/minder/site.key' }] },
      timings: { reportInterval: '2s', ackTimeout: '1s', failoverPeriod: '4s', staleAfter: '6s', configRefresh: '1s' },
      parties: [
        { id: 'arbitrator:1', host: ARB.host, port: ARB.port },
        ...['n1', 'n2', 'n3'].map((n, i) => ({
          id: `dbserver:${i + 1}`,
          host: `127.0.0.${41 + i}`,
          port: 4871,
          dc: i < 2 ? 'a' : 'b',
          nodeName: n,
          mariadb: { host: `127.0.0.${11 + i}`, passwordFile: '/etc/minder/mariadb.password' },
        })),
      ] as Line[],
    };
    edit(d);
    return `# ${SITE}: written by config-db.test.ts\n${stringify(d)}`;
  }
  function file(name: string, text: string): string {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  }
  function bootstrapFile(name: string, nodes: string[], passwordFile = pwFile): string {
    return file(
      name,
      stringify({
        as: 'arbitrator:1',
        site: SITE,
        database: { nodes, user: the().credentials.user, passwordFile, connectTimeout: '1s', queryTimeout: '3s' },
        keys: { send: 1, files: [{ id: 1, path: keyFile }] },
        stateDir: join(dir, 'state'),
      }),
    );
  }
  const minder = (args: string[]) => {
    const t0 = Date.now();
    const r = minderSync([...args, '--bootstrap', bootFile], { timeoutMs: 60_000 });
    console.log(`[lab figure] minder ${args.slice(0, 2).join(' ')}: ${Date.now() - t0} ms (process start included)`);
    return r;
  };
  const versions = async (node = 'n2') => (await the().query(node, 'SELECT version, checksum FROM minder.site_config ORDER BY version')) as Array<{ version: number; checksum: string }>;

  beforeAll(async () => {
    lab = await startGaleraLab({
      nodes: [
        { name: 'n1', dc: 'a' },
        { name: 'n2', dc: 'a' },
        { name: 'n3', dc: 'b' },
      ],
    });
    console.log(`[lab timing] bring-up of 3 nodes: ${lab.bringUpMs} ms`);
    writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    writeFileSync(pwFile, `${lab.credentials.password}\n`, { mode: 0o600 });
    writeFileSync(badPwFile, 'not-the-password\n', { mode: 0o600 });
    bootstrapFile('minder.yaml', NODES);
    boot = loadBootstrapFile(bootFile);
    party = new Party(dir, 'arbitrator-1');
  });

  afterAll(async () => {
    await party?.stop();
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('push validates, creates the table, stores version 1; the same document again stores nothing', async () => {
    const r = minder(['config', 'push', file('v1.yaml', site()), '--by', 'tester']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^stored site config version 1 for site cfgdb-lab \(127\.0\.0\.11:3306\)/);
    expect(r.code).toBe(0);
    const again = minder(['config', 'push', join(dir, 'v1.yaml')]);
    expect(again.stdout).toMatch(/^unchanged: version 1 of site cfgdb-lab already holds this document/);
    // Read on another node: the row was replicated, and the table is InnoDB with a primary key.
    expect((await versions('n3')).map((v) => v.version)).toEqual([1]);
    const [t] = await the().query('n1', "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'minder' AND TABLE_NAME = 'site_config'");
    expect(t).toEqual({ ENGINE: 'InnoDB' });
  });

  it('a pushed config with mistakes is refused, one line per problem, and the stored versions are untouched', async () => {
    const before = await versions();
    const bad = file(
      'bad.yaml',
      site((d) => {
        d.timings['failoverPeriod'] = 'soon';
        ((d.parties[2] as Line)['mariadb'] as Line)['passwordFile'] = 'mariadb.password';
      }),
    );
    const r = minder(['config', 'push', bad]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/bad\.yaml: timings\.failoverPeriod: "soon" is not a duration/);
    expect(lines[1]).toMatch(/bad\.yaml: parties\[2\]\.mariadb\.passwordFile: "mariadb\.password" is relative; a config in the database is read on every host/);
    const other = minder([
      'config',
      'push',
      file(
        'other-site.yaml',
        site((d) => (d['site'] = 'elsewhere')),
      ),
    ]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/the document is for site elsewhere, the bootstrap file for site cfgdb-lab/);
    expect(await versions()).toEqual(before);
  });

  it('versions grow by one, also when pushes race on different nodes (Galera certification conflicts are retried)', async () => {
    const storeOn = (node: string) => new ConfigStore({ ...boot.database, nodes: boot.database.nodes.filter((n) => n.label === node) });
    const stores = [storeOn(NODES[0] as string), storeOn(NODES[1] as string), storeOn(NODES[2] as string)];
    let retries = 0;
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(
        stores.map((s, i) => {
          const p = prepareDocument(
            site((d) => (d.timings['reportInterval'] = `${2000 + round * 10 + i}ms`)),
            `race-${round}-${i}`,
            SITE,
          );
          return s.push(p.document, SITE, p.checksum, `racer-${i}`);
        }),
      );
      retries += results.reduce((a, r) => a + r.retries, 0);
    }
    const all = await versions();
    expect(all.map((v) => v.version)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    console.log(`[lab figure] 15 pushes in 5 rounds of 3 racing on 3 nodes: ${retries} certification/duplicate retries`);
  });

  it('show prints a version with its header; diff shows what a push changed', async () => {
    const r = minder([
      'config',
      'push',
      file(
        'v17.yaml',
        site((d) => (d.timings['failoverPeriod'] = '5s')),
      ),
      '--by',
      'tester',
    ]);
    expect(r.stdout).toMatch(/^stored site config version 17 for site cfgdb-lab [\s\S]*\nchanges since version 16:\n/);
    expect(r.stdout).toContain('timings.failoverPeriod: 4s → 5s');
    const show = minder(['config', 'show']);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^# site cfgdb-lab, site config version 17 \(pushed by tester at \d{4}-\d\d-\d\dT[\d:.]+Z\)\n# sha256 [0-9a-f]{64}\n# cfgdb-lab: written by/);
    const v1 = minder(['config', 'show', '--version', '1']);
    expect(v1.stdout).toContain(readFileSync(join(dir, 'v1.yaml'), 'utf8'));
    const none = minder(['config', 'show', '--version', '99']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/version 99 is not stored/);
    const list = minder(['config', 'show', '--list']);
    expect(list.stdout.trim().split('\n')).toHaveLength(18);
    const diff = minder(['config', 'diff']);
    expect(diff.stdout).toMatch(/^--- version 16 \(pushed by racer-\d/);
    expect(diff.stdout).toMatch(/\n\+\+\+ version 17 \(pushed by tester/);
    expect(diff.stdout).toMatch(/\n- {2}failoverPeriod: 4s\n/);
    expect(diff.stdout).toMatch(/\n\+ {2}failoverPeriod: 5s\n/);
    const same = minder(['config', 'diff', join(dir, 'v17.yaml')]);
    expect(same.stdout).toMatch(/^no differences between version 17 .* and .*v17\.yaml/);
    const old = minder(['config', 'diff', '1', '17']);
    expect(old.stdout).toMatch(/^--- version 1 [\s\S]*\+\+\+ version 17 /);
  });

  it('a party started with --bootstrap reads the newest version and keeps it as its local copy', async () => {
    party.start(bootFile);
    const read = await party.waitFor(event('config_from_database'), 0);
    expect(read).toMatchObject({ phase: 'start', version: 17, node: '127.0.0.11:3306', pushedBy: 'tester' });
    const started = await party.waitFor(event('started'), 0);
    expect(started).toMatchObject({ config: { kind: 'database', version: 17 }, listen: `${ARB.host}:${ARB.port}` });
  });

  it('applies a new party live and says what changed; refuses a move of its own port, keeping the old', async () => {
    let m = party.mark();
    const withClient = (d: { parties: Line[] }) => d.parties.push({ id: 'dbclient:1', host: '127.0.0.44', port: 4872, dc: 'a', loadBalancer: { kind: 'haproxy', socket: '/run/haproxy/none.sock' } });
    minder([
      'config',
      'push',
      file(
        'v18.yaml',
        site((d) => {
          d.timings['failoverPeriod'] = '5s';
          withClient(d);
        }),
      ),
    ]);
    const changed = await party.waitFor(event('config_changed'), m);
    expect(changed).toMatchObject({ from: 17, to: 18, changed: ['parties: added dbclient:1'] });
    // The arbitrator's core takes it too (not only the post office): the new party is one of its dbclients.
    const taken = await party.waitFor(event('reconfigured'), m);
    expect(taken).toMatchObject({ changes: ['parties: added dbclient:1'], dbclients: ['dbclient:1'], dbservers: ['dbserver:1', 'dbserver:2', 'dbserver:3'] });

    m = party.mark();
    minder([
      'config',
      'push',
      file(
        'v19.yaml',
        site((d) => {
          d.timings['failoverPeriod'] = '5s';
          withClient(d);
          (d.parties[0] as Line)['port'] = 4880;
        }),
      ),
    ]);
    const refused = await party.waitFor(event('config_refused'), m);
    expect(refused).toMatchObject({ level: 40, version: 19, inForce: 18, reason: 'own address changes from 127.0.0.40:4870 to 127.0.0.40:4880: restart arbitrator:1 to apply' });

    m = party.mark();
    minder([
      'config',
      'push',
      file(
        'v20.yaml',
        site((d) => {
          d.timings['failoverPeriod'] = '6s';
          withClient(d);
        }),
      ),
    ]);
    const next = await party.waitFor(event('config_changed'), m);
    expect(next).toMatchObject({ from: 18, to: 20, changed: ['timings.failoverPeriod: 5s → 6s'] });
    const retimed = await party.waitFor(event('reconfigured'), m);
    expect(retimed).toMatchObject({ changes: ['timings.failoverPeriod: 5s → 6s'] });
    expect(String(retimed['msg'])).toMatch(/failover period 6000 ms/);
  });

  it('skips a non-Primary node (ERROR 1047) for the next one; with only that node, nothing is read or pushed', async () => {
    await the().cut(['n3'], ['n1', 'n2']);
    try {
      await the().waitFor('n3', isNonPrimary, 20_000, 'n3 non-Primary after the cut');
      const n3first = new ConfigStore({ ...boot.database, nodes: [...boot.database.nodes].reverse() });
      const r = await n3first.fetchNewest();
      expect(r.kind).toBe('ok');
      if (r.kind !== 'ok') return;
      expect(r.version.version).toBe(20);
      expect(r.skipped).toEqual([{ node: '127.0.0.13:3306', reason: 'non-Primary (ERROR 1047: not ready for application use)' }]);
      const only3 = await new ConfigStore({ ...boot.database, nodes: boot.database.nodes.slice(2) }).fetchNewest();
      expect(only3).toMatchObject({ kind: 'unreachable', attempts: [{ node: '127.0.0.13:3306', reason: expect.stringMatching(/non-Primary/) }] });
      const push = minderSync(['config', 'push', join(dir, 'v20.yaml'), '--bootstrap', bootstrapFile('n3-only.yaml', NODES.slice(2))]);
      expect(push.code).toBe(5);
      expect(push.stderr).toMatch(/no config database node answered\n {2}127\.0\.0\.13:3306: non-Primary/);
    } finally {
      await the().heal();
    }
    await the().waitAllSynced(60_000);
  });

  it('with bad credentials it starts from the local copy and says why', async () => {
    expect(await party.stop()).toBe(0);
    const bad = new Party(dir, 'arbitrator-1-badpw');
    bad.start(bootstrapFile('bad-credentials.yaml', NODES, badPwFile));
    try {
      const local = await bad.waitFor(event('config_from_local_copy'), 0);
      expect(local).toMatchObject({ level: 40, phase: 'start', version: 20, reason: expect.stringMatching(/access denied: Access denied for user 'minder'/) });
      expect(JSON.stringify(bad.lines())).not.toContain(the().credentials.password);
      expect(await bad.waitFor(event('started'), 0)).toMatchObject({ config: { kind: 'local_copy', version: 20 } });
    } finally {
      expect(await bad.stop()).toBe(0);
    }
  });

  it('every mariadbd stopped: the running party goes to its local copy; restarted, it runs on the copy', async () => {
    const m = party.mark();
    party.start(bootFile);
    await party.waitFor(
      event('config_from_database', (l) => l['phase'] === 'start'),
      m,
    );
    await party.waitFor(event('started'), m);
    await the().stopAll();
    const lost = await party.waitFor(event('config_from_local_copy'), m);
    expect(lost).toMatchObject({ level: 40, phase: 'running', version: 20 });
    expect(await party.stop()).toBe(0);

    const m2 = party.mark();
    party.start(bootFile);
    const local = await party.waitFor(event('config_from_local_copy'), m2);
    expect(local).toMatchObject({ phase: 'start', version: 20 });
    expect(local['attempts']).toEqual(NODES.map((node) => ({ node, reason: 'connection refused (mariadbd down?)' })));
    expect(String(local['reason'])).toMatch(/^no config database node answered: 127\.0\.0\.11:3306: connection refused/);
    expect(await party.waitFor(event('started'), m2)).toMatchObject({ config: { kind: 'local_copy', version: 20 } });
    const show = minder(['config', 'show']);
    expect(show.code).toBe(5);
  });

  it('the cluster started again: the party reads the database again, without a restart', async () => {
    const m = party.mark();
    await the().start('n1', { bootstrap: true });
    await the().start('n2');
    await the().start('n3');
    const back = await party.waitFor(event('config_from_database'), m, 60_000);
    expect(back).toMatchObject({ level: 30, phase: 'running', version: 20 });
    expect(String(back['previousReason'])).toMatch(/connection refused/);
    expect((await versions()).map((v) => v.version).at(-1)).toBe(20);
    expect(await party.stop()).toBe(0);
  });
});
