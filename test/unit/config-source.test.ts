import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { resolveSelf } from '../../src/cli/identity.js';
import { SimClock } from '../../src/correspondents/clock.js';
import type { PartyId } from '../../src/protocol/party.js';
import type { Bootstrap } from '../../src/site/bootstrap.js';
import { materialise } from '../../src/site/config-document.js';
import { type ConfigChange, ConfigSource, ConfigSourceError, loadLocalCopy, resolveStartConfig, saveLocalCopy, type StartDeps, stateFilePath } from '../../src/site/config-source.js';
import type { SiteConfig } from '../../src/site/schema.js';
import { LocalState } from '../../src/state/local-state.js';
import { captureLogger, edited, FakeFetcher, LEVEL, stored } from './config-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'minder-cfgsrc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const open: LocalState[] = [];
afterEach(() => {
  for (const s of open.splice(0)) {
    try {
      s.close();
    } catch {
      // already closed by the code under test
    }
  }
});

function bootIn(dir: string, extra: Partial<Bootstrap> = {}): Bootstrap {
  return {
    path: join(dir, 'minder.yaml'),
    site: 'shop-prod',
    database: { nodes: [{ label: '127.0.0.11:3306', host: '127.0.0.11', port: 3306 }], user: 'minder', passwordFile: '/nonexistent', schema: 'minder', connectTimeoutMs: 100, queryTimeoutMs: 100 },
    stateDir: join(dir, 'state'),
    ...extra,
  };
}

/** The arbitrator of the example lives at 10.0.9.5. */
const ARB_HOST = new Set(['10.0.9.5']);

function deps(fetcher: FakeFetcher, o: { as?: string; addresses?: Set<string>; dir?: string } = {}): StartDeps & { dir: string } {
  const dir = o.dir ?? join(root, `t${++n}`);
  return {
    dir,
    boot: bootIn(dir),
    fetcher,
    ...(o.as !== undefined ? { as: o.as } : {}),
    pickSelf: (cfg: SiteConfig) => resolveSelf(cfg, o.as, o.addresses ?? ARB_HOST),
    openState: (p: string) => {
      const s = LocalState.open(p);
      open.push(s);
      return s;
    },
    now: () => 1_700_000_000_000,
  };
}

const V1 = stored(edited(), 1);
const V2_TIMINGS = stored(
  edited((d) => {
    d.timings['ackTimeout'] = '2s';
    d.timings['configRefresh'] = '10s';
  }),
  2,
);

describe('where a party gets its config at start', () => {
  it('reads the newest version from the database and keeps it as the local copy', async () => {
    const d = deps(new FakeFetcher({ kind: 'empty', node: 'x', reason: 'x', skipped: [] }).ok(V1));
    const r = await resolveStartConfig(d);
    expect(r.party.id).toBe('arbitrator:1');
    expect(r.info).toMatchObject({ kind: 'database', version: 1, origin: '127.0.0.11:3306' });
    expect(r.config.stateDir).toBe(join(d.dir, 'state'));
    expect(r.state.path).toBe(stateFilePath(join(d.dir, 'state'), 'arbitrator:1'));
    expect(loadLocalCopy(r.state)).toMatchObject({ version: 1, checksum: V1.checksum, document: V1.document });
  });

  it('runs on the local copy when no node answers, with every reason', async () => {
    const f = new FakeFetcher({ kind: 'empty', node: 'x', reason: 'x', skipped: [] }).ok(V1);
    const first = deps(f);
    (await resolveStartConfig(first)).state.close();
    f.down('no config database node answered: 127.0.0.11:3306: connection refused (mariadbd down?)');
    // No --as: the state file is found by scanning the state dir for a copy that lists this host.
    const r = await resolveStartConfig({ ...deps(f, { dir: first.dir }) });
    expect(r.info).toMatchObject({ kind: 'local_copy', version: 1, reason: expect.stringMatching(/connection refused/) });
    expect(r.party.id).toBe('arbitrator:1');
    expect(r.skipped).toEqual([{ node: '127.0.0.11:3306', reason: 'connection refused (mariadbd down?)' }]);
  });

  it('uses the local copy when the database answers with an unusable version', async () => {
    const f = new FakeFetcher({ kind: 'empty', node: 'x', reason: 'x', skipped: [] }).ok(V1);
    const first = deps(f, { as: 'arbitrator:1' });
    (await resolveStartConfig(first)).state.close();
    f.ok({ ...stored(edited(), 2), checksum: 'f'.repeat(64) });
    const r = await resolveStartConfig(deps(f, { as: 'arbitrator:1', dir: first.dir }));
    expect(r.info).toMatchObject({ kind: 'local_copy', version: 1, reason: expect.stringMatching(/newest version 2 is unusable: the stored document does not match its checksum/) });
  });

  it('with neither a database nor a copy it starts nothing and says both', async () => {
    const d = deps(new FakeFetcher({ kind: 'empty', node: 'x', reason: 'x', skipped: [] }).down('no config database node answered: all down'));
    const err = await resolveStartConfig(d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigSourceError);
    expect((err as ConfigSourceError).code).toBe('NO_DATABASE_NO_COPY');
    expect((err as Error).message).toMatch(/all down; and .* holds no state file with a local copy/);
    const named = await resolveStartConfig(deps(new FakeFetcher({ kind: 'unreachable', reason: 'down', attempts: [] }), { as: 'dbserver:1' })).catch((e: unknown) => e);
    expect((named as ConfigSourceError).code).toBe('NO_DATABASE_NO_COPY');
    expect((named as Error).message).toMatch(/dbserver-1\.sqlite holds no local copy/);
    const empty = await resolveStartConfig(deps(new FakeFetcher({ kind: 'empty', node: 'n1', reason: 'no site config has been pushed to n1', skipped: [] }), { as: 'dbserver:1' })).catch(
      (e: unknown) => e,
    );
    expect((empty as ConfigSourceError).code).toBe('NO_USABLE_CONFIG');
  });

  it('refuses to start a party the database config does not list', async () => {
    const d = deps(new FakeFetcher({ kind: 'empty', node: 'x', reason: 'x', skipped: [] }).ok(V1), { as: 'dbserver:9' });
    await expect(resolveStartConfig(d)).rejects.toThrow(/--as dbserver:9: no such party in the site config/);
  });
});

async function source(fetcher: FakeFetcher, v = V1, self: PartyId = 'arbitrator:1' as PartyId) {
  const dir = join(root, `r${++n}`);
  const boot = bootIn(dir);
  const state = LocalState.open(stateFilePath(boot.stateDir, self));
  open.push(state);
  saveLocalCopy(state, v, 0);
  const clock = new SimClock();
  const log = captureLogger();
  // As resolveStartConfig would have left it: version v, read from the database.
  const src = new ConfigSource({
    self,
    config: materialise(v, boot),
    info: { kind: 'database', version: v.version, since: clock.now(), origin: '127.0.0.11:3306' },
    clock,
    logger: log.logger,
    database: { boot, fetcher, state, version: v },
  });
  const changes: ConfigChange[] = [];
  src.onConfigChange((_cfg, c) => changes.push(c));
  return { state, clock, log, src, changes };
}

describe('a running party re-reading the database', () => {
  it('applies a newer version with new timings and a new party, keeps it, and says what changed', async () => {
    const f = new FakeFetcher({ kind: 'empty', node: 'x', reason: 'x', skipped: [] });
    const { src, state, log, changes } = await source(f);
    expect(src.directory('dbclient:3' as PartyId)).toBeUndefined();
    const v3 = stored(
      edited((d) => {
        d.timings['ackTimeout'] = '2s';
        d.parties.push({ id: 'dbclient:3', host: '10.0.3.50', port: 4802, dc: 'dc-east', loadBalancer: { kind: 'haproxy', socket: '/run/haproxy/admin.sock' } });
      }),
      3,
    );
    f.ok(v3, '127.0.0.12:3306');
    expect(await src.refresh()).toBe('applied');
    expect(src.current().timings.ackTimeout).toBe(2000);
    expect(src.directory('dbclient:3' as PartyId)).toEqual({ address: '10.0.3.50', port: 4802 });
    expect(src.info()).toMatchObject({ kind: 'database', version: 3, origin: '127.0.0.12:3306' });
    expect(loadLocalCopy(state)?.version).toBe(3);
    expect(changes).toEqual([{ from: 1, to: 3, changes: ['timings.ackTimeout: 3s → 2s', 'parties: added dbclient:3'], fields: ['timings.ackTimeout', 'parties.dbclient:3'] }]);
    const [line] = log.events('config_changed');
    expect(line).toMatchObject({ level: LEVEL.info, from: 1, to: 3, changed: ['timings.ackTimeout: 3s → 2s', 'parties: added dbclient:3'] });
    expect(await src.refresh()).toBe('unchanged');
    expect(changes).toHaveLength(1);
  });

  it('refuses a version that moves its own port: the old stays in force, the copy untouched, said once', async () => {
    const f = new FakeFetcher({ kind: 'empty', node: 'x', reason: 'x', skipped: [] });
    const { src, state, log, changes } = await source(f);
    const moved = stored(
      edited((d) => ((d.parties.find((p) => p['id'] === 'arbitrator:1') as Record<string, unknown>)['port'] = 4900)),
      2,
    );
    f.ok(moved);
    expect(await src.refresh()).toBe('refused');
    expect(await src.refresh()).toBe('refused');
    expect(src.current().parties.find((p) => p.id === 'arbitrator:1')?.port).toBe(4800);
    expect(src.info()).toMatchObject({ kind: 'database', version: 1, refused: { version: 2, reason: 'own address changes from 10.0.9.5:4800 to 10.0.9.5:4900: restart arbitrator:1 to apply' } });
    expect(loadLocalCopy(state)?.version).toBe(1);
    expect(changes).toEqual([]);
    const refused = log.events('config_refused');
    expect(refused.map((l) => l['level'])).toEqual([LEVEL.warn, LEVEL.debug]);
    expect(refused[0]).toMatchObject({ version: 2, inForce: 1, changed: ['parties.arbitrator:1.port: 4800 → 4900'] });
  });

  it('refuses an invalid version, and one older than the version in force', async () => {
    const f = new FakeFetcher({ kind: 'empty', node: 'x', reason: 'x', skipped: [] });
    const { src } = await source(f, stored(edited(), 5));
    f.ok(stored('site: shop-prod\nparties: []\n', 6));
    expect(await src.refresh()).toBe('refused');
    expect(src.info().refused?.reason).toMatch(/^invalid: /);
    f.ok(stored(edited(), 4));
    expect(await src.refresh()).toBe('refused');
    expect(src.info().refused?.reason).toMatch(/newest version 4 is older than version 5 in force/);
    expect(src.info().version).toBe(5);
  });

  it('runs on its copy when the database goes away, says so once, and returns when it answers', async () => {
    const f = new FakeFetcher({ kind: 'empty', node: 'x', reason: 'x', skipped: [] });
    const { src, log } = await source(f);
    f.down();
    expect(await src.refresh()).toBe('unreachable');
    expect(await src.refresh()).toBe('unreachable');
    expect(src.info()).toMatchObject({ kind: 'local_copy', version: 1, reason: expect.stringMatching(/connection refused/) });
    expect(log.events('config_from_local_copy')).toHaveLength(1);
    expect(log.events('config_from_local_copy')[0]).toMatchObject({ level: LEVEL.warn, phase: 'running', version: 1 });
    f.ok(V1, '127.0.0.13:3306');
    expect(await src.refresh()).toBe('back_to_database');
    expect(src.info()).toMatchObject({ kind: 'database', version: 1, origin: '127.0.0.13:3306' });
    expect(src.info().reason).toBeUndefined();
    expect(log.events('config_from_database')).toHaveLength(1);
  });

  it('re-reads every timings.configRefresh of the config in force, and stops when told', async () => {
    const f = new FakeFetcher({ kind: 'empty', node: 'x', reason: 'x', skipped: [] }).ok(V1);
    const { src, clock } = await source(f);
    src.start();
    clock.advance(59_999);
    expect(f.calls).toBe(0);
    clock.advance(1);
    expect(f.calls).toBe(1);
    const settle = () => new Promise((r) => setImmediate(r));
    await settle();
    // The next turn reads a version whose configRefresh is 10s: from then on it is 10s.
    f.ok(V2_TIMINGS);
    clock.advance(60_000);
    expect(f.calls).toBe(2);
    await settle();
    expect(src.info().version).toBe(2);
    clock.advance(9_999);
    expect(f.calls).toBe(2);
    clock.advance(1);
    expect(f.calls).toBe(3);
    await settle();
    src.stop();
    clock.advance(120_000);
    expect(f.calls).toBe(3);
  });

  it('a listener that throws does not undo the change', async () => {
    const f = new FakeFetcher({ kind: 'empty', node: 'x', reason: 'x', skipped: [] });
    const { src, log } = await source(f);
    src.onConfigChange(() => {
      throw new Error('boom');
    });
    f.ok(V2_TIMINGS);
    expect(await src.refresh()).toBe('applied');
    expect(src.info().version).toBe(2);
    expect(log.events('config_listener_failed')).toHaveLength(1);
  });
});
