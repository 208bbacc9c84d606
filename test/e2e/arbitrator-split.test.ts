// The arbitrator end to end on the real lab (issue 4): 2+2 across two DCs, the arbitrator and
// four dbservers as real `minder run` processes, the hook installed in mariadbd.
//  1. cut the DCs → the preferred half (dc1) becomes Primary and writable through the
//     arbitrator's decision; the other half stays non-Primary; heal → one cluster.
//  2. the arbitrator SIGKILLs itself right after persisting a decision and before sending it
//     (MINDER_TEST_CRASH_AFTER_PERSIST=1) → the restarted arbitrator finishes that decision and
//     never promotes the other half.
// Run (root, one lab at a time):
//   npm run build && flock /tmp/minder-lab.lock npx vitest run --project lab test/e2e/arbitrator-split.test.ts

import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { isNonPrimary, isSyncedPrimary, labAvailable } from '../lab/galera-lab.js';
import { MINDER } from '../support/cli.js';
import { clusterStatus, type NodeName, type SplitLab, startSplitLab, statusOf, waitUntil, writes } from './arbitrator-lab.js';

const avail = labAvailable();
const ARB = 'arbitrator:1';
const DC1: NodeName[] = ['n1', 'n2'];
const DC2: NodeName[] = ['n3', 'n4'];

describe.skipIf(!avail.ok)(`arbitrator on a real 2+2 Galera lab${avail.ok ? '' : ` — SKIPPED: ${avail.reason}`}`, () => {
  let lab: SplitLab;
  /** Arbitrator log lines of one process (the log file is shared by its restarts). */
  const arbLines = (pid?: number) => lab.site.logs(ARB).filter((l) => pid === undefined || l.pid === pid);

  async function allFreshAndPrimary(): Promise<void> {
    await waitUntil(
      'the arbitrator to see four fresh Primary nodes',
      30_000,
      () => {
        const s = statusOf(lab.site);
        return s?.parties.filter((p) => p.db).every((p) => p.fresh && p.db?.cluster === 'Primary' && p.db.localState === 'Synced');
      },
      300,
    );
  }

  /** For `ms`, every node of `nodes` stays non-Primary (sampled). */
  async function staysNonPrimary(nodes: NodeName[], ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      for (const n of nodes) expect(await clusterStatus(lab.galera, n), `${n} must stay non-Primary`).toBe('non-Primary');
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** On a failure: what the arbitrator concluded and what every party logged that matters. */
  function diagnose(): void {
    const st = statusOf(lab.site);
    const lines: string[] = [`status: ${JSON.stringify(st?.arbitrator.evaluation)} decisions ${JSON.stringify(st?.arbitrator.decisions)}`];
    for (const p of ['arbitrator:1', 'dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4']) {
      const interesting = lab.site.logs(p).filter((l) => Number(l.level) >= 40 || /promot|make_primary|pc_bootstrap|decision|test_crash|ready|started|writer/.test(String(l.event)));
      for (const l of interesting.slice(-25)) lines.push(`${p} ${String(l.time)} ${String(l.event)}: ${String(l.msg).slice(0, 300)}`);
    }
    console.log(lines.join('\n'));
  }

  beforeAll(async () => {
    if (!existsSync(MINDER)) throw new Error(`${MINDER} is missing: run npm run build first`);
    lab = await startSplitLab();
    await lab.galera.exec('n1', 'CREATE DATABASE minder_e2e');
    await lab.galera.exec('n1', 'CREATE TABLE minder_e2e.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))');
    await allFreshAndPrimary();
  });

  afterAll(async () => {
    await lab?.close();
  });

  it('cut: the preferred half becomes Primary and writable through the decision; the other stays non-Primary; heal: one cluster', async () => {
    onTestFailed(diagnose);
    const g = lab.galera;
    const t0 = Date.now();
    await g.cutDcs('dc1', 'dc2');
    const writable = await waitUntil('dc1 to accept writes', 60_000, async () => (await writes(g, 'n1', 'during-cut-1')) && Date.now(), 100);
    console.log(`[arbitrator-split] cut → dc1 accepts writes: ${writable - t0} ms`);

    const promotion = arbLines().find((l) => l.event === 'promotion');
    expect(promotion, 'the arbitrator logged its decision').toBeDefined();
    expect(['dbserver:1', 'dbserver:2']).toContain(promotion?.target);
    expect(promotion?.msg).toMatch(/holds weight 2 of 4 of the last primary component/);
    const target = lab.site.partyOf(promotion?.target === 'dbserver:1' ? 'n1' : 'n2');
    await lab.site.waitForLog(target, (l) => l.event === 'make_primary_carried_out' && l.decisionId === promotion?.decisionId, 10_000);

    await staysNonPrimary(DC2, 4000);
    for (const n of DC1) expect(await clusterStatus(g, n)).toBe('Primary');
    const st = statusOf(lab.site);
    expect(st?.arbitrator.decisions).toHaveLength(1);
    expect(st?.arbitrator.decisions[0]).toMatchObject({ id: promotion?.decisionId, outcome: 'carried_out', forced: false, members: ['dbserver:1', 'dbserver:2'] });
    expect(st?.arbitrator.evaluation?.reasons.map((r) => r.code)).toContain('primary_exists');
    expect(arbLines().filter((l) => l.event === 'promotion')).toHaveLength(1);

    await g.heal();
    for (const n of [...DC1, ...DC2]) await g.waitFor(n, isSyncedPrimary(4), 60_000);
    const rows = await g.query('n4', "SELECT COUNT(*) AS c FROM minder_e2e.t WHERE v = 'during-cut-1'", [], { syncWait: true });
    expect(Number(rows[0]?.['c'])).toBe(1);
    await allFreshAndPrimary();
  });

  it('kill -9 between the persist of a decision and its send: the restart finishes that decision, never the other half', async () => {
    onTestFailed(diagnose);
    const g = lab.galera;
    await lab.site.stop(ARB);
    const crashing = lab.site.start(ARB, { MINDER_TEST_CRASH_AFTER_PERSIST: '1' });
    const crashed = new Promise<NodeJS.Signals | null>((r) => crashing.once('exit', (_code, signal) => r(signal)));
    const armed = await lab.site.waitForLog(ARB, (l) => l.event === 'test_crash_armed' && l.pid === crashing.pid, 10_000);
    const armedAt = Date.parse(String(armed.time));
    await allFreshAndPrimary();

    await g.cutDcs('dc1', 'dc2');
    for (const n of [...DC1, ...DC2]) await g.waitFor(n, isNonPrimary, 30_000);
    expect(await crashed).toBe('SIGKILL');
    const crash = arbLines(crashing.pid).find((l) => l.event === 'test_crash');
    expect(crash, 'the arbitrator killed itself after persisting').toBeDefined();
    const decisionId = (crash?.decisions as string[] | undefined)?.[0] as string;
    // It died before the send: nothing was promoted.
    expect(arbLines(crashing.pid).some((l) => l.event === 'promotion')).toBe(false);
    await staysNonPrimary([...DC1, ...DC2], 2000);

    const restarted = lab.site.start(ARB);
    // The wait is the check (it throws when dc1 never takes the write); the row is counted on dc2 after the heal.
    await waitUntil('dc1 to accept writes after the restart', 60_000, () => writes(g, 'n1', 'during-cut-2'), 100);
    const mine = () => arbLines(restarted.pid);
    const resent = mine().find((l) => l.event === 'promotion_resent');
    expect(resent?.decisionId).toBe(decisionId);
    await staysNonPrimary(DC2, 5000);
    expect(mine().filter((l) => l.event === 'promotion' || l.event === 'forced_promotion')).toHaveLength(0);
    const st = await waitUntil('the decision to be settled', 15_000, () => {
      const s = statusOf(lab.site);
      return s && s.arbitrator.decisions.find((d) => d.id === decisionId)?.outcome === 'carried_out' ? s : null;
    });
    // This round made exactly one decision (earlier rounds may have made more than one: a heal
    // can pass through a short non-Primary view that is promoted again, safely).
    expect(st.arbitrator.decisions.filter((d) => d.decidedAt >= armedAt).map((d) => d.id)).toEqual([decisionId]);
    expect(st.arbitrator.decisions.find((d) => d.id === decisionId)?.members).toEqual(['dbserver:1', 'dbserver:2']);
    expect(st.arbitrator.evaluation?.reasons.map((r) => r.code)).toContain('primary_exists');

    await g.heal();
    for (const n of [...DC1, ...DC2]) await g.waitFor(n, isSyncedPrimary(4), 60_000);
    const rows = await g.query('n3', "SELECT COUNT(*) AS c FROM minder_e2e.t WHERE v = 'during-cut-2'", [], { syncWait: true });
    expect(Number(rows[0]?.['c'])).toBe(1);
  });
});
