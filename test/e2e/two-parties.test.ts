import { afterAll, describe, expect, it } from 'vitest';
import { MinderSite } from '../support/minder-site.js';

/**
 * The foundation's proof: two `minder run` processes on loopback exchanging real, authenticated
 * UDP datagrams — the arbitrator's directives reach the dbclient, the dbclient's report reaches
 * the arbitrator — and the operator's `minder command` (a third, transient party) sees both.
 * No database is needed: the dbserver is listed but not started, and the dbclient's HAProxy
 * socket does not exist, which it must report rather than die of.
 */
describe('two minder run processes over UDP', () => {
  const site = new MinderSite({
    nodes: [{ name: 'n1', dc: 'dc1', address: '127.0.0.11', port: 3306, datadir: '/nonexistent' }],
    dcs: ['dc1', 'dc2'],
    credentials: { user: 'minder', password: 'unused' },
    arbitrator: { address: '127.0.0.30', port: 4810 },
    dbclients: [{ address: '127.0.0.40', port: 4812, dc: 'dc1', loadBalancer: { kind: 'haproxy', socket: '/nonexistent/admin.sock', servers: { 'dbserver:1': 'n1' } } }],
  });
  afterAll(() => site.close());

  it('exchange directives and reports, and answer the operator', async () => {
    site.start('arbitrator:1');
    site.start('dbclient:1');
    await site.waitForLog('arbitrator:1', (l) => l.event === 'started', 15_000);
    await site.waitForLog('dbclient:1', (l) => l.event === 'started', 15_000);
    let doc: { parties?: Array<Record<string, unknown>> } = {};
    for (let i = 0; i < 40; i++) {
      const r = site.command(['status', '--json']);
      if (r.code === 0) {
        doc = JSON.parse(r.stdout) as typeof doc;
        const client = doc.parties?.find((p) => p.party === 'dbclient:1');
        if (client?.fresh === true) break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const client = doc.parties?.find((p) => p.party === 'dbclient:1');
    expect(client?.fresh, JSON.stringify(doc)).toBe(true);
    expect(client?.client).toMatchObject({ lbKind: 'haproxy', lbReachable: false, lbError: expect.stringMatching(/ENOENT/) });
    // Both sides saw authenticated traffic from the other and dropped nothing.
    await site.stop('dbclient:1');
    await site.stop('arbitrator:1');
    for (const party of ['arbitrator:1', 'dbclient:1']) {
      const stopped = site.logs(party).find((l) => l.event === 'stopped') as { accepted: number; drops: Record<string, number> } | undefined;
      expect(stopped, party).toBeDefined();
      expect(stopped?.accepted, party).toBeGreaterThan(0);
      expect(
        Object.values(stopped?.drops ?? {}).reduce((a, b) => a + b, 0),
        party,
      ).toBe(0);
    }
  });
});
