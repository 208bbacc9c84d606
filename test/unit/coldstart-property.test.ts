import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DatadirReport, DbStatusReport } from '../../src/protocol/verbs.js';
import { isFresh } from '../../src/roles/arbitrator/observations.js';
import type { CommonEffect } from '../../src/roles/core.js';
import { ArbDriver, type Node, op, PARTY, primary, publishes, settingsFor, STATE_UUID } from './arbitrator-fixtures.js';

/**
 * The cold-start rule under random schedules, through the real arbitrator core (restarts on the
 * same durable records included): reports of stopped nodes with random positions and datadirs,
 * running nodes, outcomes, operator bootstraps, time. Checked at every step:
 *  - never two bootstrap decisions of one history (between two primary components seen);
 *  - a bootstrap only while no fresh report shows a running mariadbd, and never of a datadir
 *    that is empty, of another cluster or unreadable (forced or not);
 *  - an automatic bootstrap only once every node reported, and from the highest seqno.
 */
const NODES: Node[] = ['n1', 'n2', 'n3', 'n4'];
const OTHER = '99999999-e740-11f1-badd-cb4543f021a3';

type Action =
  | { k: 'down'; n: number; seqno: number; state: DatadirReport['state']; other: boolean; crashed: boolean; process: boolean }
  | { k: 'primary'; n: number }
  | { k: 'advance'; ms: number }
  | { k: 'restart' }
  | { k: 'outcome'; outcome: 'carried_out' | 'failed' | 'refused' }
  | { k: 'force'; n: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('down' as const),
      n: fc.nat(3),
      seqno: fc.integer({ min: 0, max: 6 }),
      state: fc.constantFrom('ok', 'ok', 'ok', 'empty', 'unreadable'),
      other: fc.constantFrom(false, false, false, false, false, false, false, true),
      crashed: fc.boolean(),
      process: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('primary' as const), n: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 100, max: 40_000 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'restart' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('outcome' as const), outcome: fc.constantFrom('carried_out' as const, 'failed' as const, 'refused' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('force' as const), n: fc.nat(3) }) },
);

function downReport(a: Extract<Action, { k: 'down' }>): Partial<DbStatusReport> {
  const uuid = a.other ? OTHER : STATE_UUID;
  const datadir: DatadirReport = {
    state: a.state,
    detail: null,
    myUuid: null,
    lastView: null,
    recovered: a.crashed ? { uuid, seqno: a.seqno } : null,
    recoverNote: null,
    process: a.process ? 'mariadbd (pid 9) runs' : null,
  };
  return { mariadb: 'down', recovered: a.state === 'ok' ? { uuid, seqno: a.crashed ? -1 : a.seqno, safeToBootstrap: false } : null, error: 'ECONNREFUSED', datadir };
}

describe('cold start under random schedules (the real arbitrator core)', () => {
  it('one bootstrap per history, never beside a running mariadbd, never from a bad datadir, automatic ones from the highest seqno', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 5, maxLength: 60 }), (actions) => {
        let d = new ArbDriver({ ...settingsFor(), coldStart: { policy: 'auto', maxAutomatic: 100, windowMs: 3_600_000 } });
        d.start();
        for (const n of NODES) d.report(n, primary(n));
        d.advance(20_000);
        const bootsThisHistory = new Set<string>();
        let lastOrder: { id: string; to: string } | null = null;
        let primarySeen = 0;
        for (const a of actions) {
          const before = d.state;
          let eff: CommonEffect[] = [];
          switch (a.k) {
            case 'down':
              eff = d.report(NODES[a.n] as Node, null, downReport(a));
              break;
            case 'primary':
              d.advance(1);
              eff = d.report(NODES[a.n] as Node, primary(NODES[a.n] as Node, [NODES[a.n] as Node], { confId: 10 + primarySeen }));
              break;
            case 'advance':
              eff = d.advance(a.ms);
              break;
            case 'restart':
              d = d.restart(d.state.incarnation + 1);
              eff = d.start();
              break;
            case 'outcome':
              if (lastOrder) {
                const n = NODES.find((x) => PARTY[x] === lastOrder?.to) as Node;
                const prev = d.state.reports[PARTY[n]]?.body;
                eff = d.report(n, null, { ...(prev ?? {}), mariadb: 'down', wsrep: null, decision: { id: lastOrder.id, outcome: a.outcome, reason: 'x', at: 0 } });
              }
              break;
            case 'force':
              eff = d.command('bootstrap', op(`f${d.now}`, { target: PARTY[NODES[a.n] as Node], force: true, confirm: false, reason: 'random' }));
              break;
          }
          if (a.k === 'primary') {
            primarySeen++;
            bootsThisHistory.clear();
          }
          for (const o of publishes(eff, 'start_mariadb')) {
            lastOrder = { id: o.body.decisionId, to: o.to };
            if (o.body.mode !== 'bootstrap') continue;
            bootsThisHistory.add(o.body.decisionId);
            expect(bootsThisHistory.size, 'two bootstraps of one history').toBeLessThanOrEqual(1);
            // Judged on the reports the step started from (a resend after a restart was judged when decided).
            if (a.k === 'restart') continue;
            const fresh = Object.entries(before.reports).filter(([, h]) => isFresh(before, h.receivedAt, d.now));
            expect(
              fresh.some(([, h]) => h.body.mariadb === 'up' || Boolean(h.body.datadir?.process)),
              'bootstrap beside a running mariadbd',
            ).toBe(false);
            const target = before.reports[o.to]?.body;
            expect(target?.datadir?.state, 'bootstrap of a bad datadir').toBe('ok');
            expect(target?.recovered?.uuid, 'bootstrap of another cluster').toBe(STATE_UUID);
            if (!o.body.forced) {
              expect(fresh.length, 'automatic bootstrap with a node missing').toBe(4);
              const seqnos = fresh
                .map(([, h]) => h.body)
                .filter((b) => b.datadir?.state === 'ok' && b.recovered?.uuid === STATE_UUID)
                .map((b) => (b.recovered && b.recovered.seqno >= 0 ? b.recovered.seqno : (b.datadir?.recovered?.seqno ?? -1)));
              expect(o.body.seqno, 'automatic bootstrap below the highest seqno').toBe(Math.max(...seqnos));
            }
          }
        }
      }),
      { numRuns: 200, seed: 12 },
    );
  });
});
