import { describe, expect, it } from 'vitest';
import type { PartyId } from '../../src/protocol/party.js';
import type { Member, WsrepStatus } from '../../src/protocol/verbs.js';
import type { CommonEvent } from '../../src/roles/core.js';
import { dbclientCore, type DbclientEvent, type DbclientState, initialState } from '../../src/roles/dbclient/core.js';
import { CFG, msg, report } from './dbclient-fixtures.js';

/**
 * Issue 11 10b, found on the lab: at a 2|2 cut the dbclient moved the writer to a node of the half
 * that was about to lose (dc2 still read Primary in the old view) for about a second; after a
 * heal the writer ping-ponged between two nodes while they were Donor/Desynced.
 */
const T0 = 1_700_000_000_000;
const ID: PartyId[] = ['dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4'];
const uuid = (i: number) => `c5f0a2e4-0000-11f1-8000-00000000001${i}`;
const M: Member[] = [1, 2, 3, 4].map((i) => ({ uuid: uuid(i), name: `n${i}`, address: `10.0.1.${i}:3306` }));

function primaryIn(i: number, members: Member[], over: Partial<WsrepStatus> = {}): Partial<WsrepStatus> {
  return { nodeUuid: uuid(i), members, clusterSize: members.length, confId: 7, ...over };
}
function nonPrimaryIn(i: number, members: Member[]): Partial<WsrepStatus> {
  return { clusterStatus: 'non-Primary', localState: 'Initialized', ready: false, confId: null, nodeUuid: uuid(i), members, clusterSize: members.length };
}

class D {
  core = dbclientCore(CFG);
  state: DbclientState = initialState();
  now = T0;
  writers: Array<PartyId | null> = [];
  step(ev: CommonEvent | DbclientEvent): void {
    const r = this.core.step(this.state, ev, this.now);
    this.state = r.state;
    if (this.writers.at(-1) !== this.state.writer) this.writers.push(this.state.writer);
  }
  report(i: number, w: Partial<WsrepStatus>): void {
    this.step(msg(ID[i - 1] as PartyId, 'db_status_report', report(this.now, w)));
  }
  advance(ms: number): void {
    this.now += ms;
  }
}

function healthy(): D {
  const d = new D();
  d.step({ kind: 'start' });
  for (const i of [1, 2, 3, 4]) d.report(i, primaryIn(i, M));
  expect(d.state.writer).toBe('dbserver:1');
  d.writers = ['dbserver:1'];
  return d;
}

describe('the writer never moves to a half about to lose quorum (issue 11 10b)', () => {
  it('schedule cut_2_2_old_view: dc1 goes non-Primary while dc2 still reads Primary in the 4-node view: no writer, never dbserver:3', () => {
    const d = healthy();
    d.advance(1000);
    // Galera on dc1 noticed the cut first; dc2's newest readings are from before it.
    d.report(1, nonPrimaryIn(1, M.slice(0, 2)));
    d.report(2, nonPrimaryIn(2, M.slice(0, 2)));
    d.advance(300);
    expect(d.state.writer).toBeNull();
    expect(d.state.routes?.write.find((r) => r.server === 'dbserver:3')?.state).toBe('maint');
    // A second later dc2 goes non-Primary too; then dc1 is promoted.
    d.advance(700);
    d.report(3, nonPrimaryIn(3, M.slice(2)));
    d.report(4, nonPrimaryIn(4, M.slice(2)));
    d.advance(500);
    d.report(1, primaryIn(1, M.slice(0, 2), { confId: 8 }));
    d.report(2, primaryIn(2, M.slice(0, 2), { confId: 8 }));
    expect(d.writers).toEqual(['dbserver:1', null, 'dbserver:1']);
  });

  it("a member's newer non-Primary view that holds the server: its Primary reading is out of date", () => {
    const d = healthy();
    d.advance(1000);
    d.report(1, nonPrimaryIn(1, M.slice(0, 2)));
    // dbserver:2's own reading (Primary, 4 members) is older than dbserver:1's, which has it inside.
    expect(d.state.writer).toBeNull();
    expect(d.writers).toEqual(['dbserver:1', null]);
  });

  it('one member of four down is no doubt: the rest holds 3 of 4', () => {
    const d = healthy();
    d.advance(1000);
    d.step(msg('dbserver:1', 'db_status_report', report(d.now, null, { mariadb: 'down' })));
    expect(d.state.writer).toBe('dbserver:2');
  });

  it('schedule donor_ping_pong: after a heal two nodes take turns as IST donors; the writer stays put', () => {
    const d = healthy();
    for (let round = 0; round < 3; round++) {
      d.advance(1000);
      d.report(1, primaryIn(1, M, { localState: 'Donor/Desynced' }));
      d.advance(800);
      d.report(1, primaryIn(1, M));
      d.advance(500);
      d.report(2, primaryIn(2, M, { localState: 'Donor/Desynced' }));
      d.advance(800);
      d.report(2, primaryIn(2, M));
    }
    expect(d.writers).toEqual(['dbserver:1']);
  });

  it('a donation longer than the grace moves the writer once', () => {
    const d = healthy();
    d.advance(1000);
    d.report(1, primaryIn(1, M, { localState: 'Donor/Desynced' }));
    d.advance(10_001);
    d.step({ kind: 'timer', name: 'writer_grace' });
    expect(d.state.writer).toBe('dbserver:2');
    d.report(1, primaryIn(1, M));
    expect(d.writers).toEqual(['dbserver:1', 'dbserver:2']);
  });
});
