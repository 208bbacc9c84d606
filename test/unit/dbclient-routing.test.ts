import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PartyId } from '../../src/protocol/party.js';
import { chooseWriter, desiredOf, type Health, healthOf, routes, type ServerSpec, type WriterInputs } from '../../src/roles/dbclient/routing.js';
import { NON_PRIMARY, report, SERVERS } from './dbclient-fixtures.js';

const STALE = 15_000;
const NOW = 1_000_000;
const s1 = SERVERS[0] as ServerSpec;
const s3 = SERVERS[2] as ServerSpec; // allows Donor reads
const s4 = SERVERS[3] as ServerSpec; // does not

const SERVE: Health = { kind: 'serve', writable: true, reason: 'ok' };
const READ_ONLY: Health = { kind: 'serve', writable: false, reason: 'donor' };
const HARD: Health = { kind: 'hard_out', writable: false, reason: 'non-Primary' };
const SOFT: Health = { kind: 'soft_out', writable: false, reason: 'Joined' };

describe('healthOf: a server serves only on a fresh report of running, Primary, Synced, ready', () => {
  it('serves, and may write, when Primary, Synced and ready', () => {
    expect(healthOf(s1, { report: report(NOW), receivedAt: NOW }, NOW, STALE)).toMatchObject({ kind: 'serve', writable: true });
  });

  it('takes a server with no report yet out hard', () => {
    expect(healthOf(s1, undefined, NOW, STALE)).toMatchObject({ kind: 'hard_out', reason: 'no report received yet' });
  });

  it('judges staleness by the local time of arrival: fresh at exactly the limit, silent one ms later', () => {
    const held = { report: report(0), receivedAt: NOW - STALE };
    expect(healthOf(s1, held, NOW, STALE).kind).toBe('serve');
    const h = healthOf(s1, held, NOW + 1, STALE);
    expect(h.kind).toBe('hard_out');
    expect(h.reason).toMatch(/^silent: last report 15 s ago/);
  });

  it('takes a non-Primary node out hard, naming the component size', () => {
    const h = healthOf(s1, { report: report(NOW, NON_PRIMARY), receivedAt: NOW }, NOW, STALE);
    expect(h).toEqual({ kind: 'hard_out', writable: false, reason: 'non-Primary (component of 1)' });
  });

  it('takes a node with mariadb down, or no wsrep status, or wsrep not ready out hard', () => {
    const down = healthOf(s1, { report: report(NOW, null, { mariadb: 'down', error: 'ECONNREFUSED' }), receivedAt: NOW }, NOW, STALE);
    expect(down).toMatchObject({ kind: 'hard_out', reason: 'mariadb down (ECONNREFUSED)' });
    expect(healthOf(s1, { report: report(NOW, null), receivedAt: NOW }, NOW, STALE).kind).toBe('hard_out');
    expect(healthOf(s1, { report: report(NOW, { ready: false }), receivedAt: NOW }, NOW, STALE).kind).toBe('hard_out');
  });

  it('serves reads from a Donor only where the server allows it, and never makes it the writer', () => {
    const donor = { report: report(NOW, { localState: 'Donor/Desynced' }), receivedAt: NOW };
    expect(healthOf(s3, donor, NOW, STALE)).toMatchObject({ kind: 'serve', writable: false });
    expect(healthOf(s4, donor, NOW, STALE)).toMatchObject({ kind: 'soft_out', writable: false });
  });

  it('keeps a Primary node that is not Synced (Joined) out softly: no new work, sessions left alone', () => {
    expect(healthOf(s1, { report: report(NOW, { localState: 'Joined' }), receivedAt: NOW }, NOW, STALE)).toMatchObject({ kind: 'soft_out' });
  });
});

function inputs(over: Partial<WriterInputs> & { h?: Partial<Record<PartyId, Health>> } = {}): WriterInputs {
  const health = new Map<PartyId, Health>(SERVERS.map((s) => [s.id, over.h?.[s.id] ?? SERVE]));
  return { servers: SERVERS, health, drained: new Set(), directed: null, current: null, ...over };
}

describe('chooseWriter: one writer for the whole site', () => {
  it("follows the arbitrator's choice while it is fresh, over stickiness and priority", () => {
    expect(chooseWriter(inputs({ directed: 'dbserver:3', current: 'dbserver:1' }))).toEqual({ writer: 'dbserver:3', reason: "the arbitrator's choice" });
  });

  it('does not follow the arbitrator to a server that cannot write; it keeps the current writer', () => {
    const c = chooseWriter(inputs({ directed: 'dbserver:3', current: 'dbserver:2', h: { 'dbserver:3': HARD } }));
    expect(c.writer).toBe('dbserver:2');
    expect(c.reason).toMatch(/the arbitrator chose dbserver:3 but dbserver:3 cannot write: non-Primary/);
  });

  it('without the arbitrator: first by DC priority, then serial', () => {
    expect(chooseWriter(inputs()).writer).toBe('dbserver:1');
    expect(chooseWriter(inputs({ h: { 'dbserver:1': HARD } })).writer).toBe('dbserver:2');
    expect(chooseWriter(inputs({ h: { 'dbserver:1': HARD, 'dbserver:2': SOFT } })).writer).toBe('dbserver:3');
  });

  it('is sticky: a recovered node of a better DC does not take the writer role back', () => {
    const c = chooseWriter(inputs({ current: 'dbserver:3' }));
    expect(c).toEqual({ writer: 'dbserver:3', reason: 'sticky: still the writer' });
  });

  it('moves on when the writer is drained, and says why', () => {
    const c = chooseWriter(inputs({ current: 'dbserver:1', drained: new Set(['dbserver:1']) }));
    expect(c.writer).toBe('dbserver:2');
    expect(c.reason).toMatch(/dbserver:1 is drained; first by DC priority then serial/);
  });

  it('never picks a Donor serving reads, nor a drained server; none left → no writer', () => {
    expect(chooseWriter(inputs({ h: { 'dbserver:1': READ_ONLY }, drained: new Set(['dbserver:2']) })).writer).toBe('dbserver:3');
    const none = chooseWriter(inputs({ h: { 'dbserver:1': HARD, 'dbserver:2': HARD, 'dbserver:3': READ_ONLY, 'dbserver:4': SOFT } }));
    expect(none.writer).toBeNull();
    expect(none.reason).toMatch(/no server can write/);
  });

  const healthArb = fc.constantFrom(SERVE, READ_ONLY, HARD, SOFT);
  const idArb = fc.constantFrom<PartyId | null>(null, 'dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4', 'dbserver:9');
  const caseArb = fc.record({
    hs: fc.tuple(healthArb, healthArb, healthArb, healthArb),
    drained: fc.subarray(['dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4'] as PartyId[]),
    directed: idArb,
    current: idArb,
    order: fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 }),
  });

  it('property: the writer can write; the order servers are listed in changes nothing; a usable writer stays', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const health = new Map<PartyId, Health>(SERVERS.map((s, i) => [s.id, c.hs[i] as Health]));
        const base = { health, drained: new Set(c.drained), directed: c.directed, current: c.current };
        const a = chooseWriter({ ...base, servers: SERVERS });
        const b = chooseWriter({ ...base, servers: c.order.map((i) => SERVERS[i] as ServerSpec) });
        expect(b).toEqual(a);
        if (a.writer !== null) {
          expect(health.get(a.writer)?.writable).toBe(true);
          expect(c.drained).not.toContain(a.writer);
        }
        const usable = (id: PartyId | null) => id !== null && (health.get(id)?.writable ?? false) && !c.drained.includes(id);
        if (usable(c.directed)) expect(a.writer).toBe(c.directed);
        else if (usable(c.current)) expect(a.writer).toBe(c.current);
        if (a.writer === null) expect(SERVERS.some((s) => usable(s.id))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('routes: the whole desired load-balancer state', () => {
  const base = (over: { h?: Partial<Record<PartyId, Health>>; drained?: PartyId[]; writer?: PartyId | null; retiring?: PartyId[] } = {}) =>
    routes({
      servers: SERVERS,
      health: new Map(SERVERS.map((s) => [s.id, over.h?.[s.id] ?? SERVE])),
      drained: new Set(over.drained ?? []),
      writer: over.writer === undefined ? 'dbserver:1' : over.writer,
      retiring: new Set(over.retiring ?? []),
      weight: 1,
    });

  it('has exactly the writer ready in the write backend, every healthy server ready for reads', () => {
    const d = desiredOf(base());
    expect(d.write).toEqual([
      { server: 'dbserver:1', state: 'ready', weight: 1, shutdownSessions: false },
      { server: 'dbserver:2', state: 'maint', weight: 1, shutdownSessions: false },
      { server: 'dbserver:3', state: 'maint', weight: 1, shutdownSessions: false },
      { server: 'dbserver:4', state: 'maint', weight: 1, shutdownSessions: false },
    ]);
    expect(d.read.every((r) => r.state === 'ready' && !r.shutdownSessions)).toBe(true);
  });

  it('drains a drained node (existing sessions finish) and takes a non-Primary one out with its sessions shut', () => {
    const d = desiredOf(base({ drained: ['dbserver:2'], h: { 'dbserver:4': HARD } }));
    expect(d.read.find((r) => r.server === 'dbserver:2')).toEqual({ server: 'dbserver:2', state: 'drain', weight: 1, shutdownSessions: false });
    expect(d.read.find((r) => r.server === 'dbserver:4')).toEqual({ server: 'dbserver:4', state: 'maint', weight: 1, shutdownSessions: true });
    expect(d.write.find((r) => r.server === 'dbserver:4')).toMatchObject({ state: 'maint', shutdownSessions: true });
  });

  it('a drained server that also went non-Primary is out hard: health wins over the drain', () => {
    const d = desiredOf(base({ drained: ['dbserver:2'], h: { 'dbserver:2': HARD } }));
    expect(d.read.find((r) => r.server === 'dbserver:2')).toMatchObject({ state: 'maint', shutdownSessions: true });
  });

  it('hand-over: the new writer is listed ready before the former writer drains', () => {
    const r = base({ writer: 'dbserver:2', retiring: ['dbserver:1'], drained: ['dbserver:1'] });
    expect(r.write.map((x) => `${x.server}:${x.state}`)).toEqual(['dbserver:2:ready', 'dbserver:1:drain', 'dbserver:3:maint', 'dbserver:4:maint']);
    expect(r.write[1]?.reason).toMatch(/former writer: its sessions finish \(writer is dbserver:2\)/);
    expect(r.read.map((x) => `${x.server}:${x.state}`)).toEqual(['dbserver:2:ready', 'dbserver:3:ready', 'dbserver:4:ready', 'dbserver:1:drain']);
  });

  it('no writer: nothing ready in the write backend', () => {
    expect(base({ writer: null }).write.every((r) => r.state !== 'ready')).toBe(true);
  });

  it('property: never two ready writers; no drained or unhealthy server ready; hard out always shuts sessions', () => {
    const healthArb = fc.constantFrom(SERVE, READ_ONLY, HARD, SOFT);
    fc.assert(
      fc.property(
        fc.tuple(healthArb, healthArb, healthArb, healthArb),
        fc.subarray(SERVERS.map((s) => s.id)),
        fc.subarray(SERVERS.map((s) => s.id)),
        fc.constantFrom<PartyId | null>(null, ...SERVERS.map((s) => s.id)),
        (hs, drained, retiring, writer) => {
          const health = new Map<PartyId, Health>(SERVERS.map((s, i) => [s.id, hs[i] as Health]));
          const r = routes({ servers: SERVERS, health, drained: new Set(drained), writer, retiring: new Set(retiring), weight: 1 });
          const readyWriters = r.write.filter((x) => x.state === 'ready').map((x) => x.server);
          expect(readyWriters).toEqual(writer === null ? [] : [writer]);
          for (const x of r.read) {
            const h = health.get(x.server as PartyId) as Health;
            if (x.state === 'ready') expect(h.kind === 'serve' && !drained.includes(x.server as PartyId)).toBe(true);
            if (h.kind === 'hard_out') expect(x).toMatchObject({ state: 'maint', shutdownSessions: true });
          }
          // Entering service before leaving it, in each backend.
          for (const list of [r.write, r.read]) {
            const rank = list.map((x) => ({ ready: 0, drain: 1, maint: 2 })[x.state]);
            expect(rank).toEqual([...rank].sort((a, b) => a - b));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
