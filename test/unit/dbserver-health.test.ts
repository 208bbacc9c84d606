import { describe, expect, it } from 'vitest';
import type { PartyId } from '../../src/protocol/party.js';
import { type DbserverState, initialState } from '../../src/roles/dbserver/core.js';
import { dbserverHealth, type HealthInputs } from '../../src/roles/dbserver/health.js';
import { downReading, nonPrimaryHalf, primaryOf, upReading } from './dbserver-fixtures.js';

/** GET /read and /write of the dbserver: clustercheck's answers, and the site's one writer. */

const NOW = 1_700_000_000_000;
const PARTY: Record<string, PartyId> = { n1: 'dbserver:1', n2: 'dbserver:2', n3: 'dbserver:3', n4: 'dbserver:4' };

function inputs(self: PartyId, over: Partial<HealthInputs> = {}): HealthInputs {
  return {
    self,
    partyOfNode: new Map(Object.entries(PARTY)),
    preference: new Map([
      ['dbserver:1', [1, 1]],
      ['dbserver:2', [1, 2]],
      ['dbserver:3', [2, 3]],
      ['dbserver:4', [2, 4]],
    ] as Array<[PartyId, [number, number]]>),
    allowDonorReads: false,
    staleAfterMs: 15_000,
    arbitratorHeardAgoMs: 1000,
    ...over,
  };
}

function state(over: Partial<DbserverState>): DbserverState {
  return { ...initialState(), ...over };
}

const ALL = primaryOf(['n1', 'n2', 'n3', 'n4'], 7);
const directives = (writer: string | null, drained: string[] = []) => ({ epoch: 3, drained, paused: false, writer });

describe('dbserver health: /read', () => {
  it('200 on a fresh Primary, Synced, ready, not drained reading; 503 with the reason otherwise', () => {
    const ok = dbserverHealth(state({ reading: upReading(1, NOW - 500, ALL), directives: directives('dbserver:1') }), inputs('dbserver:1'), NOW);
    expect(ok.read).toEqual({ ok: true, reason: 'Primary, Synced, ready' });
    const np = dbserverHealth(state({ reading: upReading(1, NOW, nonPrimaryHalf()) }), inputs('dbserver:1'), NOW);
    expect(np.read).toEqual({ ok: false, reason: 'non-Primary (component of 2)' });
    const drained = dbserverHealth(state({ reading: upReading(1, NOW, ALL), directives: directives('dbserver:2', ['dbserver:1']) }), inputs('dbserver:1'), NOW);
    expect(drained.read).toEqual({ ok: false, reason: 'drained by the operator' });
    expect(drained.write.ok).toBe(false);
    const down = dbserverHealth(state({ reading: downReading(1, NOW) }), inputs('dbserver:1'), NOW);
    expect(down.read.reason).toBe('mariadb down (ECONNREFUSED)');
    const old = dbserverHealth(state({ reading: upReading(1, NOW - 16_000, ALL) }), inputs('dbserver:1'), NOW);
    expect(old.read).toEqual({ ok: false, reason: 'no reading of mariadbd for 16.0 s (limit 15.0 s)' });
    expect(dbserverHealth(state({}), inputs('dbserver:1'), NOW).read.reason).toBe('no reading of mariadbd yet');
  });

  it('a Donor serves reads only where allowed, and is never the writer', () => {
    const donor = upReading(1, NOW, primaryOf(['n1', 'n2', 'n3', 'n4'], 7, { localState: 'Donor/Desynced' }));
    expect(dbserverHealth(state({ reading: donor }), inputs('dbserver:1'), NOW).read.ok).toBe(false);
    const allowed = dbserverHealth(state({ reading: donor, directives: directives('dbserver:1') }), inputs('dbserver:1', { allowDonorReads: true }), NOW);
    expect(allowed.read.ok).toBe(true);
    expect(allowed.write).toEqual({ ok: false, reason: 'Donor/Desynced: never the writer' });
  });
});

describe('dbserver health: /write', () => {
  it("follows the arbitrator's writer while the arbitrator is heard: exactly one node says yes", () => {
    const yes = Object.values(PARTY).filter((p) => dbserverHealth(state({ reading: upReading(1, NOW, ALL), directives: directives('dbserver:2') }), inputs(p), NOW).write.ok);
    expect(yes).toEqual(['dbserver:2']);
    const h = dbserverHealth(state({ reading: upReading(1, NOW, ALL), directives: directives('dbserver:2') }), inputs('dbserver:1'), NOW);
    expect(h).toMatchObject({ writerFrom: 'arbitrator', writer: 'dbserver:2', write: { ok: false, reason: "the writer is dbserver:2 (the arbitrator's directives)" } });
    expect(dbserverHealth(state({ reading: upReading(1, NOW, ALL), directives: directives(null) }), inputs('dbserver:1'), NOW).write.reason).toBe('the arbitrator names no writer');
  });

  it('without a fresh word from the arbitrator: its last writer while in this primary component (sticky), else the first by DC priority then serial', () => {
    const silent = { arbitratorHeardAgoMs: 20_000 };
    const sticky = Object.values(PARTY).filter((p) => dbserverHealth(state({ reading: upReading(1, NOW, ALL), directives: directives('dbserver:3') }), inputs(p, silent), NOW).write.ok);
    expect(sticky).toEqual(['dbserver:3']);
    // After a cut that promoted dc1, the last writer (n3) is not in dc1's component: n1 takes it.
    const dc1 = primaryOf(['n1', 'n2'], 8);
    const h1 = dbserverHealth(state({ reading: upReading(1, NOW, dc1), directives: directives('dbserver:3') }), inputs('dbserver:1', silent), NOW);
    expect(h1).toMatchObject({ writerFrom: 'local_rule', writer: 'dbserver:1', write: { ok: true } });
    expect(dbserverHealth(state({ reading: upReading(1, NOW, dc1), directives: directives('dbserver:3') }), inputs('dbserver:2', silent), NOW).write.ok).toBe(false);
    // A drained node is passed over; no directives at all: the same rule.
    expect(dbserverHealth(state({ reading: upReading(1, NOW, dc1), directives: directives(null, ['dbserver:1']) }), inputs('dbserver:2', silent), NOW).write.ok).toBe(true);
    expect(dbserverHealth(state({ reading: upReading(1, NOW, dc1) }), inputs('dbserver:1', { arbitratorHeardAgoMs: undefined }), NOW).write.ok).toBe(true);
  });

  it("a heard arbitrator's writer outside this node's primary component: the component agrees by the local rule", () => {
    const dc1 = primaryOf(['n1', 'n2'], 8);
    const yes = ['dbserver:1', 'dbserver:2'].filter((p) => dbserverHealth(state({ reading: upReading(1, NOW, dc1), directives: directives('dbserver:3') }), inputs(p as PartyId), NOW).write.ok);
    expect(yes).toEqual(['dbserver:1']);
  });

  it('a non-Primary node never says yes, whatever the directives', () => {
    for (const ago of [0, 60_000]) {
      const h = dbserverHealth(state({ reading: upReading(1, NOW, nonPrimaryHalf()), directives: directives('dbserver:1') }), inputs('dbserver:1', { arbitratorHeardAgoMs: ago }), NOW);
      expect(h.write.ok).toBe(false);
    }
  });
});
