// End to end, all real: MariaDB 10.11 + Galera 4 (3 nodes on 127.0.0.11-13, the real
// wsrep_notify_cmd hook), `minder run` processes for the arbitrator, the dbservers and one
// dbclient, and HAProxy 2.6 in front, steered only by the dbclient through its runtime API.
// Run alone: flock /tmp/minder-lab.lock npx vitest run --project lab test/e2e/dbclient-haproxy.test.ts

import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAvailable } from '../lab/galera-lab.js';
import { haproxyAvailable } from '../lab/haproxy-lab.js';
import { backendView, countBy, sessionOn, type Stack, startStack, waitUntil, whoAnswers } from './dbclient-stack.js';

const lab = labAvailable();
const runnable = lab.ok && haproxyAvailable();
const READ = 'galera_read';
const WRITE = 'galera_write';

async function nodeOf(c: Connection): Promise<string> {
  const [rows] = await c.query<RowDataPacket[]>('SELECT @@wsrep_node_name AS n');
  return String(rows[0]?.['n']);
}

/** The session counts `minder command status` shows per dbserver, from the dbclients' reports. */
function statusSessions(stack: Stack): Record<string, number | null> {
  const r = stack.site.command(['status', '--json']);
  if (r.code !== 0) throw new Error(`minder command status failed (${r.code}): ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { parties: Array<{ party: string; db: { sessions: number | null } | null }> };
  return Object.fromEntries(doc.parties.filter((p) => p.db !== null).map((p) => [p.party, p.db?.sessions ?? null]));
}

function timed(): () => number {
  const t0 = Date.now();
  return () => Date.now() - t0;
}

describe.skipIf(!runnable)('dbclient steering a real HAProxy in front of a real Galera lab', () => {
  let stack: Stack;
  let creds: { user: string; password: string };

  beforeAll(async () => {
    stack = await startStack();
    creds = stack.galera.credentials;
    // Up when the dbclient has applied: one writer ready, every node ready for reads.
    await waitUntil('the dbclient to steer HAProxy', 60_000, async () => {
      const w = await backendView(stack.haproxy, WRITE);
      const r = await backendView(stack.haproxy, READ);
      const writers = [...w].filter(([, v]) => v.admin === 'ready');
      return writers.length === 1 && [...r.values()].every((v) => v.admin === 'ready') && [...w.values()].some((v) => v.admin === 'maint');
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('routes reads to every Synced Primary node and writes to exactly one', async () => {
    const reads = countBy(await whoAnswers(stack.haproxy, 'read', creds, 30));
    expect(Object.keys(reads).sort()).toEqual(['n1', 'n2', 'n3']);
    const writes = countBy(await whoAnswers(stack.haproxy, 'write', creds, 15));
    // DC priority then serial, with every node healthy: dbserver:1 (n1) in dc1.
    expect(writes).toEqual({ n1: 15 });
  });

  it('drain through `minder command`: old session keeps working, no new one reaches the node, sessions fall to zero', async () => {
    const old = await sessionOn(stack.haproxy, 'read', creds, 'n2');
    const since = timed();
    const r = stack.site.command(['drain', 'dbserver:2', '--reason', 'e2e drain']);
    expect(r.code, r.stderr).toBe(0);
    await waitUntil('n2 to drain in HAProxy', 20_000, async () => (await backendView(stack.haproxy, READ)).get('n2')?.admin === 'drain');
    console.log(`drain command → HAProxy drain: ${since()} ms`);
    // The session opened before the drain still runs queries on n2.
    expect(await nodeOf(old)).toBe('n2');
    const after = countBy(await whoAnswers(stack.haproxy, 'read', creds, 40));
    expect(after['n2']).toBeUndefined();
    expect(Object.keys(after).sort()).toEqual(['n1', 'n3']);
    // status names n2's sessions: one (ours), then none once it ends.
    await waitUntil('status to show the drained session', 20_000, async () => statusSessions(stack)['dbserver:2'] === 1);
    await old.end();
    await waitUntil('status to show n2 with no sessions', 20_000, async () => statusSessions(stack)['dbserver:2'] === 0);
    expect((await backendView(stack.haproxy, READ)).get('n2')).toMatchObject({ admin: 'drain', sessions: 0 });
  });

  it('undrain: traffic returns', async () => {
    const r = stack.site.command(['undrain', 'dbserver:2', '--reason', 'e2e undrain']);
    expect(r.code, r.stderr).toBe(0);
    await waitUntil('n2 ready again', 20_000, async () => (await backendView(stack.haproxy, READ)).get('n2')?.admin === 'ready');
    const reads = countBy(await whoAnswers(stack.haproxy, 'read', creds, 30));
    expect(reads['n2']).toBeGreaterThan(0);
  });

  it('a node cut away goes out at once, its sessions shut; it comes back after the heal', async () => {
    const victim = await sessionOn(stack.haproxy, 'read', creds, 'n3');
    const since = timed();
    await stack.galera.cut(['n3'], ['n1', 'n2']);
    await stack.galera.waitFor('n3', (s) => s['wsrep_cluster_status'] !== 'Primary', 30_000, 'n3 non-Primary');
    const nonPrimaryAt = since();
    await waitUntil('n3 out of HAProxy', 20_000, async () => (await backendView(stack.haproxy, READ)).get('n3')?.admin === 'maint');
    console.log(`cut → n3 non-Primary ${nonPrimaryAt} ms → HAProxy maint ${since()} ms`);
    // Its old session was shut (Galera would refuse its queries anyway).
    await expect(nodeOf(victim)).rejects.toThrow();
    victim.destroy();
    const during = countBy(await whoAnswers(stack.haproxy, 'read', creds, 30));
    expect(during['n3']).toBeUndefined();
    expect(Object.keys(during).sort()).toEqual(['n1', 'n2']);
    await stack.galera.heal();
    await stack.galera.waitAllSynced(60_000);
    await waitUntil('n3 back in HAProxy', 30_000, async () => (await backendView(stack.haproxy, READ)).get('n3')?.admin === 'ready');
    expect(countBy(await whoAnswers(stack.haproxy, 'read', creds, 30))['n3']).toBeGreaterThan(0);
  });

  it('draining the writer hands the writer role on first: its write session finishes, new writes go to the next node', async () => {
    // The writer is whichever node the write backend has ready now: an earlier cut may have
    // moved it (stickily) away from n1, which is correct behaviour, not this test's subject.
    const old = await waitUntil('one writer in the write backend', 20_000, async () => {
      const ready = [...(await backendView(stack.haproxy, WRITE))].filter(([, v]) => v.admin === 'ready').map(([n]) => n);
      return ready.length === 1 ? (ready[0] as string) : null;
    });
    const writer = await sessionOn(stack.haproxy, 'write', creds, old);
    const r = stack.site.command(['drain', stack.partyOf(old), '--reason', 'e2e writer hand-over']);
    expect(r.code, r.stderr).toBe(0);
    const next = await waitUntil('another node to take writes', 20_000, async () => {
      const ready = [...(await backendView(stack.haproxy, WRITE))].filter(([n, v]) => n !== old && v.admin === 'ready').map(([n]) => n);
      return ready.length === 1 ? (ready[0] as string) : null;
    });
    const w = await backendView(stack.haproxy, WRITE);
    expect(w.get(old)?.admin).toBe('drain');
    expect([...w.values()].filter((v) => v.admin === 'ready')).toHaveLength(1);
    expect(countBy(await whoAnswers(stack.haproxy, 'write', creds, 10))).toEqual({ [next]: 10 });
    // The old writer's session still commits.
    await writer.query('CREATE DATABASE IF NOT EXISTS e2e');
    await writer.query('CREATE TABLE IF NOT EXISTS e2e.t (id INT PRIMARY KEY)');
    await writer.query('REPLACE INTO e2e.t VALUES (1)');
    await writer.end();
    // With its write sessions gone it leaves the write backend for good.
    await waitUntil('the old writer out of the write backend', 20_000, async () => (await backendView(stack.haproxy, WRITE)).get(old)?.admin === 'maint');
    const u = stack.site.command(['undrain', stack.partyOf(old), '--reason', 'e2e']);
    expect(u.code, u.stderr).toBe(0);
    await waitUntil('the old writer back for reads', 20_000, async () => (await backendView(stack.haproxy, READ)).get(old)?.admin === 'ready');
    // Sticky: the old writer is back, but the writer stays where it moved.
    expect(countBy(await whoAnswers(stack.haproxy, 'write', creds, 5))).toEqual({ [next]: 5 });
  });

  it('after an HAProxy reload (config states back) the dbclient re-applies what it wants', async () => {
    const r = stack.site.command(['drain', 'dbserver:3', '--reason', 'e2e reload']);
    expect(r.code, r.stderr).toBe(0);
    await waitUntil('n3 drained', 20_000, async () => (await backendView(stack.haproxy, READ)).get('n3')?.admin === 'drain');
    const writerBefore = [...(await backendView(stack.haproxy, WRITE))].filter(([, v]) => v.admin === 'ready').map(([k]) => k);
    expect(writerBefore).toHaveLength(1);
    await stack.haproxy.reload();
    const since = timed();
    await waitUntil('n3 drained again after the reload', 20_000, async () => (await backendView(stack.haproxy, READ)).get('n3')?.admin === 'drain', 20);
    console.log(`HAProxy reload → drain re-applied: ${since()} ms`);
    const w = await backendView(stack.haproxy, WRITE);
    expect([...w].filter(([, v]) => v.admin === 'ready').map(([k]) => k)).toEqual(writerBefore);
  });
});
