import { describe, expect, it } from 'vitest';
import { complete, parseWords, type SiteNames, tokenize } from '../../src/cli/command/parse.js';
import { operatorName } from '../../src/cli/command/session.js';
import { renderStatus } from '../../src/cli/command/render.js';
import type { StatusSummary } from '../../src/roles/arbitrator/summary-doc.js';
import { buildSummary } from '../../src/roles/arbitrator/summary.js';
import { ArbDriver, cutInHalves, hold, op, primary } from './arbitrator-fixtures.js';

const NAMES: SiteNames = {
  dbservers: [
    { id: 'dbserver:1', nodeName: 'n1' },
    { id: 'dbserver:2', nodeName: 'n2' },
    { id: 'dbserver:3', nodeName: 'db-west-1' },
  ],
  dcs: ['dc1', 'dc2'],
};

const words = (line: string) => {
  const t = tokenize(line);
  if (!t.ok) throw new Error(t.error);
  return t.words;
};

describe('command words', () => {
  it('tokenizes quotes and escapes', () => {
    expect(words(`drain n1 --reason "disk swap, rack 4"`)).toEqual(['drain', 'n1', '--reason', 'disk swap, rack 4']);
    expect(words(`pause -r "it's" 'a "b"'`)).toEqual(['pause', '-r', "it's", 'a "b"']);
    expect(words('promote dc2 --reason=a\\ b')).toEqual(['promote', 'dc2', '--reason=a b']);
    expect(words('  ')).toEqual([]);
    expect(words('x ""')).toEqual(['x', '']);
    expect(tokenize('drain "n1')).toEqual({ ok: false, error: 'unclosed " quote' });
  });

  it('parses every verb, resolving node names to parties', () => {
    expect(parseWords(['status', '--json'], NAMES)).toEqual({ ok: true, command: { verb: 'status', json: true } });
    expect(parseWords(['drain', 'db-west-1', '--reason', 'disk'], NAMES)).toEqual({ ok: true, command: { verb: 'drain', node: 'dbserver:3', reason: 'disk' } });
    expect(parseWords(['undrain', '2'], NAMES)).toEqual({ ok: true, command: { verb: 'undrain', node: 'dbserver:2', reason: '' } });
    expect(parseWords(['bootstrap', 'confirm'], NAMES)).toEqual({ ok: true, command: { verb: 'bootstrap', target: '', force: false, confirm: true, reason: '' } });
    expect(parseWords(['bootstrap', 'n1', '--force', '--reason', 'gone'], NAMES)).toEqual({
      ok: true,
      command: { verb: 'bootstrap', target: 'dbserver:1', force: true, confirm: false, reason: 'gone' },
    });
    expect(parseWords(['bootstrap', 'n1'], NAMES)).toMatchObject({ ok: false, error: expect.stringMatching(/--force --reason/) });
    expect(parseWords(['pause', '--reason=maintenance'], NAMES)).toEqual({ ok: true, command: { verb: 'pause', reason: 'maintenance' } });
    expect(parseWords(['resume'], NAMES)).toEqual({ ok: true, command: { verb: 'resume', reason: '' } });
    expect(parseWords(['promote', 'dc2', '--force', '--reason', 'dc1 burned'], NAMES)).toEqual({ ok: true, command: { verb: 'promote', target: 'dc2', force: true, reason: 'dc1 burned' } });
    expect(parseWords(['promote', 'n1'], NAMES)).toEqual({ ok: true, command: { verb: 'promote', target: 'dbserver:1', force: false, reason: '' } });
    expect(parseWords(['help'], NAMES)).toEqual({ ok: true, command: { verb: 'help' } });
    expect(parseWords(['exit'], NAMES)).toEqual({ ok: true, command: { verb: 'quit' } });
  });

  it('explains what is wrong', () => {
    const err = (w: string[]) => {
      const r = parseWords(w, NAMES);
      return r.ok ? null : r.error;
    };
    expect(err(['drain'])).toMatch(/drain needs a node: dbserver:1 \(n1\)/);
    expect(err(['drain', 'n9'])).toMatch(/no dbserver named n9/);
    expect(err(['promote', 'dc2', '--force'])).toMatch(/--force needs --reason/);
    expect(err(['promote', 'dc3'])).toMatch(/no data centre or dbserver named dc3/);
    expect(err(['status', 'now'])).toMatch(/unexpected now/);
    expect(err(['pause', '--reason'])).toMatch(/--reason needs a value/);
    expect(err(['pause', '--soon'])).toMatch(/unknown option --soon/);
    expect(err(['frobnicate'])).toMatch(/unknown command frobnicate/);
    expect(err([])).toMatch(/name a command/);
  });

  it('completes verbs, then nodes or DCs, then options', () => {
    expect(complete('', NAMES)[0]).toEqual(['status', 'events', 'drain', 'undrain', 'pause', 'resume', 'promote', 'bootstrap', 'withdraw', 'relearned', 'help', 'quit']);
    expect(complete('dr', NAMES)).toEqual([['drain '], 'dr']);
    expect(complete('bootstrap c', NAMES)).toEqual([['confirm '], 'c']);
    expect(complete('drain ', NAMES)[0]).toEqual(['dbserver:1', 'n1', 'dbserver:2', 'n2', 'dbserver:3', 'db-west-1']);
    expect(complete('drain db', NAMES)).toEqual([['dbserver:1', 'dbserver:2', 'dbserver:3', 'db-west-1'], 'db']);
    expect(complete('promote d', NAMES)[0]).toEqual(['dc1', 'dc2', 'dbserver:1', 'dbserver:2', 'dbserver:3', 'db-west-1']);
    expect(complete('promote dc2 --f', NAMES)).toEqual([['--force '], '--f']);
    expect(complete('status --', NAMES)).toEqual([['--json', '--watch'], '--']);
    expect(complete('events --f', NAMES)).toEqual([['--follow '], '--f']);
  });

  it('names the operator from sudo first', () => {
    expect(operatorName({ SUDO_USER: 'alice', USER: 'root' })).toBe('alice');
    expect(operatorName({ USER: 'bob' })).toBe('bob');
  });
});

describe('status for people', () => {
  function doc(): StatusSummary {
    const d = new ArbDriver();
    d.start();
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, primary(n));
    d.command('drain', op('d', { node: 'dbserver:4' }));
    cutInHalves(d);
    hold(d, 12_000);
    d.report('n3', null, { recovered: { uuid: 'x', seqno: 97, safeToBootstrap: false } });
    d.command('pause', op('p', { reason: 'after the failover' }));
    return buildSummary(d.state, d.now);
  }

  it('shows a table of every party, a loud PAUSED banner, and the decisions with reasons', () => {
    const text = renderStatus(doc());
    const lines = text.split('\n');
    expect(lines.some((l) => /^!!\s+PAUSED by alice \(after the failover\)/.test(l))).toBe(true);
    const header = lines.find((l) => l.startsWith('DC '));
    expect(header?.split(/\s+/)).toEqual(['DC', 'PARTY', 'ROLE', 'CLUSTER', 'STATE', 'SEQNO', 'DRAINED', 'AGE', 'SESSIONS']);
    const rowOf = (party: string) => lines.find((l) => l.split(/\s+/)[1] === party);
    expect(rowOf('dbserver:1')).toMatch(/^dc1\s+dbserver:1\s+dbserver \(writer\)\s+non-Primary\s+Initialized\s+100\s+-\s+\d/);
    expect(rowOf('dbserver:3')).toMatch(/DOWN\s+recovered 97\s+\(97\)/);
    expect(rowOf('dbserver:4')).toMatch(/DRAINED/);
    expect(rowOf('arbitrator:1')).toMatch(/arbitrator\s+-\s+PAUSED/);
    expect(text).toMatch(
      /last decisions:\n {2}\S+ \S+ {2}dec-\S+ {2}make_primary → dbserver:1 for dbserver:1\+dbserver:2: pending\n {6}reason: a settled split \(every other member of its last primary component is heard, down or non-Primary in a complete view; it outweighs every other dbserver\), non-Primary for 0\.0 s, holds weight 2 of 4/,
    );
    expect(text).toMatch(/last primary component: conf 5, 4 members \(dbserver:1, dbserver:2, dbserver:3, dbserver:4\)/);
  });

  it("says loudly which dbserver's hook is not arriving, from the dbservers' own reports", () => {
    const d = new ArbDriver();
    d.start();
    d.report('n1', primary('n1'), { hook: { state: 'missing', lastPushAt: null, pushes: 0, text: 'HOOK NOT ARRIVING: Primary/Synced → non-Primary seen without a push' } });
    d.report('n2', primary('n2'), { hook: { state: 'heard', lastPushAt: 5, pushes: 3, text: 'last push …' } });
    d.report('n3', primary('n3'), { hook: { state: 'none', lastPushAt: null, pushes: 0, text: 'no wsrep_notify_cmd set in mariadbd' } });
    d.report('n4', primary('n4'));
    const doc = buildSummary(d.state, d.now);
    expect(doc.parties.find((p) => p.party === 'dbserver:2')?.db?.hook).toEqual({ state: 'heard', lastPushAt: 5, text: 'last push …' });
    expect(doc.parties.find((p) => p.party === 'dbserver:4')?.db?.hook).toBeNull();
    const text = renderStatus(doc);
    expect(text).toMatch(/^dbserver:1: HOOK NOT ARRIVING: Primary\/Synced → non-Primary seen without a push$/m);
    expect(text).toMatch(/^dbserver:3: hook: no wsrep_notify_cmd set in mariadbd$/m);
    expect(text).not.toMatch(/^dbserver:2: /m);
  });
});
