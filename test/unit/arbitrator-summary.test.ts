import { describe, expect, it } from 'vitest';
import { encodeDatagram, TARGET_DATAGRAM_BYTES } from '../../src/protocol/datagram.js';
import { Keyring } from '../../src/protocol/keys.js';
import { encodePages, PageAssembler, PAGE_CHUNK_BYTES } from '../../src/protocol/paging.js';
import { isStatusSummary, type StatusSummary } from '../../src/roles/arbitrator/summary-doc.js';
import { renderStatus } from '../../src/cli/command/render.js';
import { ArbDriver, cutInHalves, hold, type Node, op, PARTY, primary, publishes, settingsFor } from './arbitrator-fixtures.js';

function summaryOf(d: ArbDriver, requestId = 's1', pages: number[] | null = null): { pages: Array<{ page: number; pages: number; chunk: Uint8Array }>; replies: number } {
  const e = d.command('status_summary', { requestId, pages });
  return { pages: publishes(e, 'status_summary_page').map((p) => p.body), replies: publishes(e, 'command_reply').length };
}

function assemble(pages: Array<{ page: number; pages: number; chunk: Uint8Array }>): StatusSummary {
  const a = new PageAssembler();
  for (const p of pages) expect(a.add(p.page, p.pages, p.chunk)).toBe(true);
  expect(a.complete()).toBe(true);
  const doc = a.decode();
  expect(isStatusSummary(doc)).toBe(true);
  return doc as StatusSummary;
}

describe('status summary', () => {
  it('describes every party, the pause, the decisions with their reasons, and LB sessions', () => {
    const d = new ArbDriver();
    d.start();
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, primary(n));
    d.step({
      kind: 'message',
      msg: {
        from: 'dbclient:1',
        verb: 'client_status_report',
        body: {
          observedAt: 0,
          epochApplied: 1,
          lb: { kind: 'haproxy', reachable: true, error: null },
          writer: 'dbserver:1',
          servers: [
            { server: 'dbserver:1', backend: 'write', state: 'ready', operational: true, weight: 1, sessions: 3 },
            { server: 'dbserver:1', backend: 'read', state: 'ready', operational: true, weight: 1, sessions: 2 },
            { server: 'dbserver:2', backend: 'read', state: 'ready', operational: true, weight: 1, sessions: 4 },
          ],
        },
        envelope: { site: 'testsite', from: 'dbclient:1', to: 'arbitrator:1', verb: 'client_status_report', inc: 1, id: 99, at: 0, body: null },
        address: { address: '10.0.2.1', port: 4802 },
      },
    });
    d.command('drain', op('d1', { node: 'dbserver:4', reason: 'disk' }));
    cutInHalves(d);
    hold(d, 12_000);
    d.command('pause', op('p1', { reason: 'after the failover' }));
    const doc = assemble(summaryOf(d).pages);
    expect(doc.site).toBe('testsite');
    expect(doc.arbitrator).toMatchObject({
      party: 'arbitrator:1',
      paused: true,
      pausedBy: 'alice',
      pausedReason: 'after the failover',
      drained: ['dbserver:4'],
      configSource: 'test.yaml',
      incarnation: 1,
    });
    expect(doc.arbitrator.decisions).toHaveLength(1);
    expect(doc.arbitrator.decisions[0]).toMatchObject({ target: 'dbserver:1', outcome: 'pending', forced: false });
    expect(doc.arbitrator.decisions[0]?.reason).toMatch(/holds weight 2 of 4/);
    expect(doc.arbitrator.evaluation?.reasons.map((r) => r.code)).toEqual(['already_decided', 'already_decided']);
    expect(doc.arbitrator.journal.map((j) => j.event)).toEqual(expect.arrayContaining(['promotion', 'paused', 'drained']));
    expect(doc.arbitrator.lastPrimary).toMatchObject({ confId: 5 });
    expect(doc.parties.map((p) => p.party)).toEqual(['dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4', 'dbclient:1']);
    const db1 = doc.parties[0];
    expect(db1).toMatchObject({ type: 'dbserver', dc: 'dc1', fresh: true, db: { cluster: 'non-Primary', localState: 'Initialized', seqno: 100, sessions: 5, writer: true, drained: false } });
    expect(doc.parties[1]?.db?.sessions).toBe(4);
    expect(doc.parties[3]?.db).toMatchObject({ drained: true, sessions: null });
    expect(doc.parties[4]).toMatchObject({ type: 'dbclient', client: { lbKind: 'haproxy', lbReachable: true, sessions: 9, epochApplied: 1 } });
  });

  it('every page datagram stays under 1,152 bytes, even with the longest site name and request id', () => {
    const nodes: Node[] = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const d = new ArbDriver(settingsFor({ nodes }));
    d.start();
    for (const n of nodes) d.report(n, primary(n, nodes));
    const requestId = 'r'.repeat(64);
    const { pages } = summaryOf(d, requestId);
    expect(pages.length).toBeGreaterThan(1);
    const keyring = new Keyring([{ id: 1, secret: Buffer.alloc(32, 7) }], 1);
    for (const p of pages) {
      expect(p.chunk.length).toBeLessThanOrEqual(PAGE_CHUNK_BYTES);
      const buf = encodeDatagram(
        {
          site: 's'.repeat(64),
          from: 'arbitrator:999999',
          to: 'command:999999',
          verb: 'status_summary_page',
          inc: Number.MAX_SAFE_INTEGER,
          id: Number.MAX_SAFE_INTEGER,
          at: Number.MAX_SAFE_INTEGER,
          body: { requestId, ...p },
        },
        keyring,
      );
      expect(buf.length).toBeLessThan(TARGET_DATAGRAM_BYTES);
    }
  });

  it('missing pages asked for again come from the same document, even after the state moved on', () => {
    const d = new ArbDriver();
    d.start();
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, primary(n));
    const first = summaryOf(d, 'keep').pages;
    expect(first.length).toBeGreaterThanOrEqual(3);
    const kept = first.filter((p) => p.page % 2 === 0);
    const a = new PageAssembler();
    for (const p of kept) a.add(p.page, p.pages, p.chunk);
    expect(a.complete()).toBe(false);
    const missing = a.missing();
    expect(missing).toEqual(first.filter((p) => p.page % 2 === 1).map((p) => p.page));
    // Meanwhile much changes, which would change the document if it were built again.
    d.advance(5000);
    d.command('drain', op('x', { node: 'dbserver:2' }));
    cutInHalves(d);
    const resent = summaryOf(d, 'keep', missing).pages;
    expect(resent.map((p) => p.page)).toEqual(missing);
    for (const p of resent) a.add(p.page, p.pages, p.chunk);
    const doc = a.decode() as StatusSummary;
    expect(doc.arbitrator.drained).toEqual([]);
    expect(doc).toEqual(assemble(first));
    // A new request id sees the new state.
    expect(assemble(summaryOf(d, 'new').pages).arbitrator.drained).toEqual(['dbserver:2']);
  });

  it('pages asked for that do not exist are ignored; a cached summary expires', () => {
    const d = new ArbDriver();
    d.start();
    const { pages } = summaryOf(d, 'q');
    expect(summaryOf(d, 'q', [pages.length + 3, 0]).pages.map((p) => p.page)).toEqual([0]);
    d.advance(61_000);
    expect(d.state.summaries).toHaveLength(1);
    summaryOf(d, 'other');
    expect(d.state.summaries.map((s) => s.requestId)).toEqual(['other']);
  });

  it('the assembler takes pages in any order and duplicates, and rejects contradicting ones', () => {
    const doc = { format: 1, text: 'x'.repeat(3000) };
    const pages = encodePages(doc);
    const a = new PageAssembler();
    for (const i of [2, 0, 2, 3, 1]) if (pages[i]) a.add(i, pages.length, pages[i] as Uint8Array);
    expect(a.add(0, pages.length + 1, new Uint8Array(1))).toBe(false);
    expect(a.add(pages.length, pages.length, new Uint8Array(1))).toBe(false);
    expect(a.decode()).toEqual(doc);
  });

  it('a relearning arbitrator says so in status, with why and since when; once relearned, how', () => {
    const d = new ArbDriver(settingsFor(), new Map(), undefined, 1, { lostState: true });
    d.start();
    const doc = assemble(summaryOf(d).pages);
    expect(doc.arbitrator.memory).toMatchObject({ relearning: true, why: expect.stringMatching(/no records/), since: d.now });
    expect(renderStatus(doc)).toMatch(/^RELEARNING since .*: the state file holds no records .* nothing is promoted until every member of the last primary component has reported/m);
    d.command('relearned', op('r1', { force: true, reason: 'checked every node' }));
    const after = assemble(summaryOf(d, 's2').pages);
    expect(after.arbitrator.memory).toMatchObject({ relearning: false, relearnedBy: expect.stringMatching(/checked every node/) });
    expect(renderStatus(after)).not.toMatch(/^RELEARNING since/m);
  });

  it('the summary lists every party even when one never reported', () => {
    const d = new ArbDriver();
    d.start();
    d.report('n2', primary('n2'));
    const doc = assemble(summaryOf(d).pages);
    expect(doc.parties.find((p) => p.party === PARTY.n1)).toMatchObject({ reportAgeMs: null, fresh: false, db: { cluster: null, mariadb: null } });
  });

  it('status shows a stale report as unknown with its age and last known state, and the datagram counters', () => {
    const d = new ArbDriver();
    d.start();
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, primary(n));
    d.now += 20_000;
    for (const n of ['n1', 'n2', 'n3'] as const) d.report(n, primary(n));
    d.step({ kind: 'datagram_stats', stats: { accepted: 40, sent: 31, resent: 2, drops: { bad_signature: 3, replay: 0 } } } as never);
    const doc = assemble(summaryOf(d).pages);
    expect(doc.arbitrator.datagrams).toEqual({ accepted: 40, sent: 31, resent: 2, drops: { bad_signature: 3, replay: 0 } });
    const text = renderStatus(doc);
    const row = (p: string) => text.split('\n').find((l) => new RegExp(`^dc\\d\\s+${p}\\s`).test(l)) as string;
    // CLUSTER says unknown, STATE what was last known, AGE how old it is.
    expect(row('dbserver:4')).toMatch(/^dc2\s+dbserver:4\s+dbserver\s+unknown\s+last known: Primary Synced\s.*20s STALE/);
    expect(row('dbserver:1')).toMatch(/^dc1\s+dbserver:1\s+dbserver \(writer\)\s+Primary\s+Synced\s/);
    expect(text).toMatch(/datagrams at arbitrator:1: accepted 40, sent 31, resent 2, dropped 3 \(bad_signature 3\)/);
  });
});
