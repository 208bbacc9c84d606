import { describe, expect, it } from 'vitest';
import type { Clock, SimClock } from '../../src/correspondents/clock.js';
import { silentLogger } from '../../src/log.js';
import { arbitratorCore } from '../../src/roles/arbitrator/core.js';
import { emptyRecords } from '../../src/roles/arbitrator/records.js';
import { type ArbitratorState, initialArbitratorState } from '../../src/roles/arbitrator/state.js';
import { RoleHost } from '../../src/roles/host.js';
import { nonPrimary, primary, settingsFor } from './arbitrator-fixtures.js';
import { netSite } from './arbitrator-net.js';

/**
 * Issue 11 path 8: durations inside the arbitrator are measured on its monotonic clock, and a
 * jump of its wall clock starts a TILT. The arbitrator's clock here is a wall clock the test
 * steps (an operator's `date -s`, an NTP step) beside a monotonic clock that never steps; the
 * dbservers' clocks are not touched.
 */
function steppedSite() {
  const wall = { offset: 0 };
  const site = netSite({
    arbitratorClock: (sim: SimClock): Clock => ({
      now: () => sim.monotonic() + wall.offset,
      monotonic: () => sim.monotonic(),
      setTimer: (ms, fn) => sim.setTimer(ms, fn),
    }),
  });
  const host = new RoleHost<ArbitratorState, never, never>({
    core: arbitratorCore,
    initial: initialArbitratorState(settingsFor(), emptyRecords(), { incarnation: 1 }),
    post: site.post,
    clock: site.arbClock,
    durable: { put() {} },
    logger: silentLogger(),
    execute: () => {},
  });
  site.post.watch(['dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4']);
  host.start();
  const codes = () => host.current.evaluation?.reasons.map((r) => r.code) ?? [];
  return { ...site, host, wall, codes };
}

describe('the arbitrator on two clocks (issue 11 path 8)', () => {
  it('schedule wall_clock_steps_back_20s: a report 17 s old is stale although the wall clock says it is 3 s in the future', async () => {
    const h = steppedSite();
    h.names.forEach((n, i) => {
      h.say(i, primary(n));
    });
    h.clock.advance(5000);
    expect(h.codes()).toContain('primary_exists');
    h.wall.offset = -20_000;
    h.clock.advance(12_000);
    // Nothing was heard for 17 s (staleAfter 15 s): no report is fresh, whatever the wall says.
    expect(h.codes()).not.toContain('primary_exists');
    expect(h.codes()).toContain('no_reports');
    await h.close();
  });

  it('schedule clock_jump_tilts: after a 5 s step back a settled split is not promoted until the TILT is over, and status says why', async () => {
    const h = steppedSite();
    h.names.forEach((n, i) => {
      h.say(i, primary(n));
    });
    h.clock.advance(1000);
    h.wall.offset = -5000;
    const cut = () =>
      h.names.forEach((n, i) => {
        h.say(i, nonPrimary(n, i < 2 ? ['n1', 'n2'] : ['n3', 'n4']));
      });
    cut();
    h.clock.advance(100);
    expect(h.makePrimary).toEqual([]);
    expect(h.codes()).toContain('clock_jump');
    const why = h.host.current.evaluation?.reasons.find((r) => r.code === 'clock_jump')?.text ?? '';
    expect(why).toMatch(/TILT: the wall clock jumped backwards by 5\.0 s .*no promotion for 30\.0 s more/);
    expect(h.host.current.journal.map((j) => j.event)).toContain('clock_jump');
    for (let t = 0; t < 14; t++) {
      h.clock.advance(2000);
      cut();
    }
    expect(h.makePrimary).toEqual([]);
    h.clock.advance(3000);
    // TILT over (30 s after the jump was seen): the same picture is promoted, once, to dc1.
    expect(h.makePrimary).toEqual([1]);
    await h.close();
  });

  it('a jump below timings.clockJump (NTP slewing, a slow step) is no TILT', async () => {
    const h = steppedSite();
    h.names.forEach((n, i) => {
      h.say(i, primary(n));
    });
    h.clock.advance(1000);
    h.wall.offset = -1500;
    h.names.forEach((n, i) => {
      h.say(i, nonPrimary(n, i < 2 ? ['n1', 'n2'] : ['n3', 'n4']));
    });
    h.clock.advance(100);
    expect(h.codes()).not.toContain('clock_jump');
    expect(h.makePrimary).toEqual([1]);
    await h.close();
  });
});
