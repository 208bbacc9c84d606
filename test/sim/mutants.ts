import type { Directives, MakePrimary } from '../../src/protocol/verbs.js';
import { viewOf } from '../../src/protocol/view.js';
import { dbclientCore } from '../../src/roles/dbclient/core.js';
import { arbitratorBindingWith, dbclientBindingWith, dbserverBindingWith, REAL_BINDINGS } from './roles.js';
import type { Bindings } from './world.js';

/**
 * Deliberately broken variants of the real cores, each violating one rule the simulator checks.
 * The checks' own tests (checks.test.ts) run them to show that each check fails when the
 * behaviour it guards breaks; nothing else uses them.
 */

/** Rule 4 broken: the arbitrator forgets every decision it made, so it promotes both halves of a tie. */
export const forgetfulArbitrator: Bindings = {
  ...REAL_BINDINGS,
  arbitrator: arbitratorBindingWith((core) => ({
    step: (s, e, now) => core.step({ ...s, records: { ...s.records, decisions: [] } }, e, now),
  })),
};

/**
 * Rules 4 and 5 broken: the arbitrator forgets its decisions and never notices a Primary
 * component, so once the preferred half is promoted the other half's turn comes too.
 */
export const recklessArbitrator: Bindings = {
  ...REAL_BINDINGS,
  arbitrator: arbitratorBindingWith((core) => ({
    step: (s, e, now) => {
      const reports = Object.fromEntries(Object.entries(s.reports).filter(([, h]) => h.body.wsrep?.clusterStatus !== 'Primary'));
      return core.step({ ...s, reports, records: { ...s.records, decisions: [] } }, e, now);
    },
  })),
};

/** Liveness broken: the arbitrator decides but its make_primary never leaves. */
export const muteArbitrator: Bindings = {
  ...REAL_BINDINGS,
  arbitrator: arbitratorBindingWith((core) => ({
    step: (s, e, now) => {
      const r = core.step(s, e, now);
      return { ...r, effects: r.effects.filter((f) => !(f.kind === 'publish' && f.verb === 'make_primary')) };
    },
  })),
};

/** Rule 6 broken: the arbitrator forgets a pause as soon as it has answered it. */
export const pauseDeafArbitrator: Bindings = {
  ...REAL_BINDINGS,
  arbitrator: arbitratorBindingWith((core) => ({
    step: (s, e, now) => core.step({ ...s, records: { ...s.records, directives: { ...s.records.directives, paused: false } } }, e, now),
  })),
};

/** The dbserver's exact-view check broken: it takes any make_primary as naming its current view. */
export const credulousDbserver: Bindings = {
  ...REAL_BINDINGS,
  dbserver: dbserverBindingWith((core) => ({
    step: (s, e, now) => {
      const w = s.reading?.wsrep;
      if (e.kind === 'message' && e.msg.verb === 'make_primary' && w) {
        const body: MakePrimary = { ...(e.msg.body as MakePrimary), view: viewOf(w) };
        return core.step(s, { ...e, msg: { ...e.msg, body } }, now);
      }
      return core.step(s, e, now);
    },
  })),
};

/** Drains broken: the dbclient reads directives without their drain set. */
export const drainBlindDbclient: Bindings = {
  ...REAL_BINDINGS,
  dbclient: dbclientBindingWith((core) => ({
    step: (s, e, now) => {
      if (e.kind === 'message' && e.msg.verb === 'directives') {
        const body: Directives = { ...(e.msg.body as Directives), drained: [] };
        return core.step(s, { ...e, msg: { ...e.msg, body } }, now);
      }
      return core.step(s, e, now);
    },
  })),
};

/** One writer broken: the dbclient asks for every server the read backend takes as a writer too. */
export const twoWriterDbclient: Bindings = {
  ...REAL_BINDINGS,
  dbclient: dbclientBindingWith((core) => ({
    step: (s, e, now) => {
      const r = core.step(s, e, now);
      const effects = r.effects.map((f) => (f.kind === 'apply_lb' ? { ...f, desired: { ...f.desired, write: f.desired.read.map((x) => ({ ...x })) } } : f));
      return { ...r, effects };
    },
  })),
};

/**
 * A glue bug, not a core bug: the binding derives the dbclient's settings wrongly (staleAfter ten
 * times the config's, as a unit slip would), so a dbserver that falls silent stays served.
 */
export const staleAfterSlipDbclient: Bindings = {
  ...REAL_BINDINGS,
  dbclient: dbclientBindingWith((_core, cfg) => dbclientCore({ ...cfg, staleAfterMs: cfg.staleAfterMs * 10 })),
};

/** Rule 2 broken: the arbitrator never waits out the failover period (as if every split were settled). */
export const impatientArbitrator: Bindings = {
  ...REAL_BINDINGS,
  arbitrator: arbitratorBindingWith((core) => ({
    step: (s, e, now) => core.step({ ...s, settings: { ...s.settings, timings: { ...s.settings.timings, failoverPeriodMs: 0 } } }, e, now),
  })),
};

/** Rule 7 broken: the arbitrator prefers the DCs in the reverse order, so dc2 wins the ties. */
export const wrongDcArbitrator: Bindings = {
  ...REAL_BINDINGS,
  arbitrator: arbitratorBindingWith((core) => ({
    step: (s, e, now) => core.step({ ...s, settings: { ...s.settings, dcOrder: [...s.settings.dcOrder].reverse() } }, e, now),
  })),
};

/** Rule 5 broken alone: the arbitrator never notices a Primary component (its decisions it keeps). */
export const primaryBlindArbitrator: Bindings = {
  ...REAL_BINDINGS,
  arbitrator: arbitratorBindingWith((core) => ({
    step: (s, e, now) => {
      const reports = Object.fromEntries(Object.entries(s.reports).filter(([, h]) => h.body.wsrep?.clusterStatus !== 'Primary'));
      return core.step({ ...s, reports }, e, now);
    },
  })),
};

/**
 * Rule 3 broken: the arbitrator takes every reporter's last primary component to be its current
 * view, so every candidate holds all of "its" LastPC.
 */
export const halfBlindArbitrator: Bindings = {
  ...REAL_BINDINGS,
  arbitrator: arbitratorBindingWith((core) => ({
    step: (s, e, now) => {
      const reports = Object.fromEntries(
        Object.entries(s.reports).map(([id, h]) => {
          const w = h.body.wsrep;
          if (!w?.lastPrimary) return [id, h];
          return [id, { ...h, body: { ...h.body, wsrep: { ...w, lastPrimary: { ...w.lastPrimary, members: w.members.map((m) => m.uuid) } } } }];
        }),
      );
      return core.step({ ...s, reports }, e, now);
    },
  })),
};

/** Rule 1's freshness broken: the arbitrator takes reports ten times as old as staleAfter for fresh. */
export const staleBlindArbitrator: Bindings = {
  ...REAL_BINDINGS,
  arbitrator: arbitratorBindingWith((core) => ({
    step: (s, e, now) => core.step({ ...s, settings: { ...s.settings, timings: { ...s.settings.timings, staleAfterMs: 10 * s.settings.timings.staleAfterMs } } }, e, now),
  })),
};
