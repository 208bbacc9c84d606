import { describe, expect, it } from 'vitest';
import type { DbStatusReport } from '../../src/protocol/verbs.js';
import { HOOK_GRACE_MS } from '../../src/roles/dbserver/hook-health.js';
import { Driver, kinds, member, nonPrimaryHalf, primaryOf, STATE_UUID } from './dbserver-fixtures.js';

function lastReport(effects: ReturnType<Driver['step']>): DbStatusReport | undefined {
  return effects.flatMap((f) => (f.kind === 'publish' && f.verb === 'db_status_report' && f.to === 'arbitrator:1' ? [f.body as DbStatusReport] : [])).at(-1);
}

function started(cmd: string | null): Driver {
  const d = new Driver();
  d.step({ kind: 'start' });
  d.observe(primaryOf(['n1', 'n2', 'n3'], 3));
  if (cmd !== null) d.step({ kind: 'notify_cmd', cmd });
  return d;
}

/** A reading after mariadbd rewrote its status file (how a change is seen without the hook). */
function ring(d: Driver, wsrep: Parameters<Driver['observe']>[0]): ReturnType<Driver['step']> {
  const a = d.step({ kind: 'status_file_changed' });
  return [...a, ...d.observe(wsrep)];
}

const push = { status: 'connected', uuid: STATE_UUID, primary: false, index: 0, members: [member('n1'), member('n2')], argv: [] };

describe("dbserver core: the hook's health, loud when it does not arrive", () => {
  it('a state change seen without a push marks the hook missing after the grace period: an error log and a report', () => {
    const d = started('/usr/lib/galera-minder/wsrep-notify.sh');
    const eff = ring(d, nonPrimaryHalf());
    expect(lastReport(eff)?.hook?.state).toBe('waiting');
    expect(kinds(eff)).toContain('timer:hook_grace');
    d.advance(HOOK_GRACE_MS);
    const late = d.step({ kind: 'timer', name: 'hook_grace' });
    const rep = lastReport(late);
    expect(rep?.hook?.state).toBe('missing');
    expect(rep?.hook?.text).toMatch(/HOOK NOT ARRIVING: Primary\/Synced\/size 3.* → non-Primary/);
    expect(late.some((f) => f.kind === 'log' && f.level === 'error' && f.event === 'hook_not_arriving')).toBe(true);
    // Heard again: reported as heard, and said.
    const back = d.step({ kind: 'hook_line', notify: push });
    expect(back.some((f) => f.kind === 'log' && f.event === 'hook_arriving_again')).toBe(true);
    expect(lastReport(d.observe(nonPrimaryHalf()))?.hook?.state).toBe('heard');
    expect(d.state.hook.pushes).toBe(1);
  });

  it('a push that comes with the change (before or after the reading) keeps the hook healthy', () => {
    const d = started('/x/wsrep-notify.sh');
    // mariadbd runs the hook before its status variables move: push first, then the reading.
    d.step({ kind: 'hook_line', notify: push });
    const eff = d.observe(nonPrimaryHalf());
    expect(kinds(eff)).not.toContain('timer:hook_grace');
    expect(lastReport(eff)?.hook?.state).toBe('heard');
    // Reading first (the status file rang), push a moment later: the timer finds nothing to say.
    d.advance(60_000);
    expect(kinds(ring(d, primaryOf(['n1', 'n2', 'n3'], 4)))).toContain('timer:hook_grace');
    d.step({ kind: 'message', msg: { from: 'wsrep_notify_cmd:1', verb: 'wsrep_notify', body: push } as never });
    d.advance(HOOK_GRACE_MS);
    const t = d.step({ kind: 'timer', name: 'hook_grace' });
    expect(t.some((f) => f.kind === 'log' && f.event === 'hook_not_arriving')).toBe(false);
  });

  it('no wsrep_notify_cmd in mariadbd: said once (warn) and reported as none, never missing', () => {
    const d = new Driver();
    d.step({ kind: 'start' });
    d.observe(primaryOf(['n1', 'n2', 'n3'], 3));
    const eff = d.step({ kind: 'notify_cmd', cmd: '' });
    expect(eff.some((f) => f.kind === 'log' && f.level === 'warn' && f.event === 'hook_not_configured')).toBe(true);
    expect(lastReport(eff)?.hook?.state).toBe('none');
    const change = ring(d, nonPrimaryHalf());
    expect(kinds(change)).not.toContain('timer:hook_grace');
    expect(d.step({ kind: 'notify_cmd', cmd: '' }).some((f) => f.kind === 'log')).toBe(false);
  });

  it('mariadbd going down is no missed hook (mariadbd runs none when it dies)', () => {
    const d = started('/x/wsrep-notify.sh');
    const eff = ring(d, null);
    expect(kinds(eff)).not.toContain('timer:hook_grace');
  });
});
