// The slot guards of the arbitrator's leader store (issue 13): what a write of the decision list
// must find in the store, and what it puts there; the etcd store and the simulator's model of it
// both build on this.
import { describe, expect, it } from 'vitest';
import type { PartyId } from '../../src/protocol/party.js';
import { type DecisionRecord, decisionRecord } from '../../src/roles/arbitrator/records.js';
import { planDecisionWrite, slotHolders } from '../../src/roles/arbitrator/store/decision-guards.js';

function d(id: string, key: string, o: Partial<DecisionRecord> = {}): DecisionRecord {
  return decisionRecord.parse({
    id,
    kind: 'make_primary',
    key,
    lastPrimary: null,
    view: { stateUuid: 'u', members: ['a'], lastPrimaryViewId: key },
    members: ['dbserver:1' as PartyId],
    target: 'dbserver:1' as PartyId,
    forced: false,
    operator: null,
    requestId: null,
    reason: 'r',
    decidedAt: 1,
    validForMs: 1000,
    outcome: 'pending',
    outcomeReason: null,
    outcomeAt: null,
    ...o,
  });
}
const written = (...ds: DecisionRecord[]) => new Map(ds.map((x) => [x.id, JSON.stringify(x)]));

describe('decision slot guards', () => {
  it('a first decision for a key needs the slot absent and takes it', () => {
    const p = planDecisionWrite([d('d1', 'pc-1')], new Map());
    expect(p.compares).toEqual([{ key: 'pc-1', holder: null }]);
    expect(p.slotPuts).toEqual([{ key: 'pc-1', id: 'd1' }]);
    expect(p.puts.map((x) => x.id)).toEqual(['d1']);
  });

  it('an outcome change is a plain put, no slot compare; an unchanged record is not written again', () => {
    const d1 = d('d1', 'pc-1');
    const p = planDecisionWrite([{ ...d1, outcome: 'carried_out' }, d('d0', 'pc-0')], written(d1, d('d0', 'pc-0')));
    expect(p.compares).toEqual([]);
    expect(p.puts.map((x) => x.id)).toEqual(['d1']);
  });

  it('a decision after a refused one for the same key needs the slot to hold the refused one', () => {
    const refused = d('d1', 'pc-1', { outcome: 'refused', decidedAt: 1 });
    const p = planDecisionWrite([refused, d('d2', 'pc-1', { decidedAt: 2 })], written(refused));
    expect(p.compares).toEqual([{ key: 'pc-1', holder: 'd1' }]);
    expect(p.slotPuts).toEqual([{ key: 'pc-1', id: 'd2' }]);
  });

  it('a decision beside one not refused for the same key still needs the slot absent (the store refuses it)', () => {
    const spent = d('d1', 'pc-1', { outcome: 'carried_out' });
    expect(planDecisionWrite([spent, d('d2', 'pc-1', { decidedAt: 2 })], written(spent)).compares).toEqual([{ key: 'pc-1', holder: null }]);
  });

  it('start orders take no slot; several new ones for one key are plain puts', () => {
    const p = planDecisionWrite([d('s1', 'join:b1', { kind: 'start' }), d('s2', 'join:b1', { kind: 'start', target: 'dbserver:2' as PartyId })], new Map());
    expect(p.compares).toEqual([]);
    expect(p.slotPuts).toEqual([]);
    expect(p.puts).toHaveLength(2);
  });

  it('a failed decision without effect frees its key; a forced one takes every key it supersedes', () => {
    const failed = d('d1', 'pc-1', { outcome: 'failed', outcomeAt: 5, noEffectAt: 9 });
    expect(planDecisionWrite([failed, d('d2', 'pc-1', { decidedAt: 2 })], written(failed)).compares).toEqual([{ key: 'pc-1', holder: 'd1' }]);
    const forced = planDecisionWrite([d('f1', 'pc-2', { forced: true, alsoSpends: ['pc-1'] })], new Map());
    expect(forced.compares).toEqual([
      { key: 'pc-2', holder: null },
      { key: 'pc-1', holder: null },
    ]);
    expect(forced.slotPuts.map((p) => p.key)).toEqual(['pc-2', 'pc-1']);
  });

  it('pruned decisions are deleted', () => {
    expect(planDecisionWrite([d('d2', 'pc-2')], written(d('d1', 'pc-1'), d('d2', 'pc-2'))).deletes).toEqual(['d1']);
  });

  it('importing: one holder per key, the decision that still spends it, else the newest', () => {
    const h = slotHolders([
      d('a', 'k1', { outcome: 'refused', decidedAt: 1 }),
      d('b', 'k1', { outcome: 'carried_out', decidedAt: 2 }),
      d('c', 'k1', { outcome: 'refused', decidedAt: 3 }),
      d('e', 'k2', { outcome: 'refused', decidedAt: 1 }),
      d('f', 'k2', { outcome: 'refused', decidedAt: 5 }),
      d('s', 'k3', { kind: 'start' }),
    ]);
    expect(Object.fromEntries(h)).toEqual({ k1: 'b', k2: 'f' });
  });
});
