// Cold start on the real lab (issue 12), the cases test/e2e/cold-start.test.ts does not hold:
//  6. dc2's hosts stay away while every mariadbd is down; the operator bootstraps dc1's most
//     advanced node (forced: dc2 is missing); dc2 returns → its nodes are started and JOIN
//     (IST/SST), never bootstrap; one cluster of four, no committed row lost; the arbitrator showed
//     their rejoin and never said "cannot rejoin".
//  5. kill -9 of the arbitrator at a random point of a cold start (COLD_START_KILL_ROUNDS rounds,
//     default 3; the issue asks 10: COLD_START_KILL_ROUNDS=10; the points are drawn from
//     COLD_START_KILL_SEED, printed, so a failing run can be repeated) → the restarted
//     arbitrator resumes from its records: never two bootstraps (decisions, and mariadbd's own
//     "bootstrap option: 1" in every error log), the site serves again, no row lost.
// Run (root, one lab at a time):
//   npm run build && flock /tmp/minder-lab.lock npx vitest run --project lab test/e2e/cold-start-returns.test.ts

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { labAvailable } from '../lab/galera-lab.js';
import { MINDER } from '../support/cli.js';
import { REPO } from '../support/repo.js';
import { seededRng } from '../../src/util/rng.js';
import { NODES, type NodeName, type SplitLab, startSplitLab, waitUntil } from './arbitrator-lab.js';

const avail = labAvailable();
const CTL = join(REPO, 'test/lab/mariadbd-ctl.sh');

interface ColdDoc {
  arbitrator: {
    rejoin?: Array<{ party: string; phase: string; text: string }>;
    decisions: Array<{ id: string; kind: string; target: string; outcome: string; forced: boolean; decidedAt: number }>;
    coldStartPlan: { plan: string; text: string; missing: string[]; nodes: Array<{ party: string; status: string; seqno: number | null; viable: boolean }> } | null;
  };
}

describe.skipIf(!avail.ok)(`cold start on a real 2+2 Galera lab: a DC that returns, the arbitrator killed${avail.ok ? '' : ` — SKIPPED: ${avail.reason}`}`, () => {
  let lab: SplitLab;
  let rows = 0;

  const doc = (): ColdDoc | null => {
    const r = lab.site.command(['status', '--json', '--tries', '2'], 10_000);
    return r.code === 0 ? (JSON.parse(r.stdout) as ColdDoc) : null;
  };
  const decisionsSince = (t: number) => (doc()?.arbitrator.decisions ?? []).filter((d) => d.decidedAt >= t).reverse();

  async function statusOf(n: NodeName): Promise<Record<string, string> | null> {
    try {
      return await lab.galera.status(n, { timeoutMs: 2000 });
    } catch {
      return null;
    }
  }

  async function serving(nodes: readonly NodeName[], size: number, timeoutMs: number, what: string): Promise<void> {
    await waitUntil(
      what,
      timeoutMs,
      async () => {
        for (const n of nodes) {
          const s = await statusOf(n);
          if (s?.['wsrep_cluster_status'] !== 'Primary' || s['wsrep_local_state_comment'] !== 'Synced' || s['wsrep_cluster_size'] !== String(size)) return false;
        }
        return true;
      },
      500,
    );
    for (const n of nodes) lab.galera.adopt(n);
  }

  /** Commits `n` rows on a Primary node, one transaction each (flushed at commit). */
  async function writeRows(n: number, on: NodeName = 'n1'): Promise<void> {
    for (let i = 0; i < n; i++) {
      await lab.galera.exec(on, 'INSERT INTO cold.t (v) VALUES (?)', [`row ${rows}`]);
      rows++;
    }
  }

  async function everyRowOn(nodes: readonly NodeName[]): Promise<void> {
    for (const n of nodes) {
      const [r] = await lab.galera.query(n, 'SELECT COUNT(*) AS c FROM cold.t', undefined, { syncWait: true });
      expect(Number(r?.['c']), `rows on ${n}`).toBe(rows);
    }
  }

  async function killAll(): Promise<void> {
    for (const n of NODES) await lab.galera.kill(n);
  }

  function diagnose(): void {
    const d = doc();
    const lines = [`plan: ${JSON.stringify(d?.arbitrator.coldStartPlan)}`, `decisions: ${JSON.stringify(d?.arbitrator.decisions.slice(0, 8))}`];
    for (const p of ['arbitrator:1', 'dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4']) {
      const interesting = lab.site.logs(p).filter((l) => Number(l.level) >= 40 || /cold|start|bootstrap|recover|decision/.test(String(l.event)));
      for (const l of interesting.slice(-12)) lines.push(`${p} ${String(l.time)} ${String(l.event)}: ${String(l.msg).slice(0, 300)}`);
    }
    for (const n of NODES) lines.push(`${n} error log:\n${lab.galera.errorLogTail(n, 6)}`);
    console.log(lines.join('\n'));
  }

  beforeAll(async () => {
    if (!existsSync(MINDER)) throw new Error(`${MINDER} is missing: run npm run build first`);
    lab = await startSplitLab({
      extraMyCnf: { innodb_flush_log_at_trx_commit: '1' },
      control: (n) => ({
        start: ['bash', CTL, 'start', n.myCnf],
        bootstrap: ['bash', CTL, 'bootstrap', n.myCnf],
        stop: ['bash', CTL, 'stop', n.myCnf],
        recover: ['bash', CTL, 'recover', n.myCnf],
        timeout: '200s',
        recoverTimeout: '60s',
        editGrastate: true,
        pidFile: n.pidFile,
      }),
      coldStart: { policy: 'auto', maxAutomatic: 10, window: '1h' },
    });
    await lab.galera.exec('n1', 'CREATE DATABASE cold');
    await lab.galera.exec('n1', 'CREATE TABLE cold.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))');
    await serving(NODES, 4, 30_000, 'four Synced Primary nodes');
  }, 240_000);

  afterAll(async () => {
    await lab?.close();
  }, 120_000);

  /** Where each node's error log ends now: bootstraps are counted after it. */
  const logEnds = (): Map<NodeName, number> => new Map(NODES.map((n) => [n, existsSync(lab.galera.node(n).errorLog) ? readFileSync(lab.galera.node(n).errorLog).length : 0]));
  const bootstrapsSince = (ends: Map<NodeName, number>): NodeName[] =>
    NODES.flatMap((n) => {
      const f = lab.galera.node(n).errorLog;
      const text = existsSync(f)
        ? readFileSync(f)
            .subarray(ends.get(n) ?? 0)
            .toString('utf8')
        : '';
      return (text.match(/Connecting with bootstrap option: 1/g) ?? []).map(() => n);
    });

  it('(6) dc2 returns after dc1 was bootstrapped: dc2 joins (IST/SST), never bootstraps; one cluster of four', async () => {
    onTestFailed(diagnose);
    await writeRows(20);
    const t0 = Date.now();
    const ends = logEnds();
    await lab.site.stop('dbserver:3');
    await lab.site.stop('dbserver:4');
    await killAll();
    await waitUntil(
      'dc1 positions known, a plan that waits for dc2',
      90_000,
      () => {
        const p = doc()?.arbitrator.coldStartPlan;
        return (
          p?.plan === 'wait' &&
          p.missing.includes('dbserver:3') &&
          p.missing.includes('dbserver:4') &&
          p.nodes.filter((n) => n.party === 'dbserver:1' || n.party === 'dbserver:2').every((n) => n.seqno !== null)
        );
      },
      500,
    );
    const nodes = doc()?.arbitrator.coldStartPlan?.nodes ?? [];
    const best = nodes.filter((n) => n.viable && n.seqno !== null).sort((a, b) => (b.seqno ?? 0) - (a.seqno ?? 0) || a.party.localeCompare(b.party))[0];
    expect(best?.party).toMatch(/^dbserver:[12]$/);
    const r = lab.site.command(['bootstrap', best?.party as string, '--force', '--reason', 'dc2 is dark (test)'], 20_000);
    expect(r.code, r.stderr).toBe(0);
    await serving(['n1', 'n2'], 2, 180_000, 'dc1 bootstrapped and joined');
    await writeRows(15);
    // dc2 comes back: its dbservers report their datadirs, the arbitrator starts them, they join.
    lab.site.start('dbserver:3');
    lab.site.start('dbserver:4');
    const seen = new Set<string>();
    await waitUntil(
      'dc2 joined: one cluster of four',
      240_000,
      async () => {
        for (const x of doc()?.arbitrator.rejoin ?? []) seen.add(`${x.party} ${x.phase}`);
        for (const n of NODES) {
          const s = await statusOf(n);
          if (s?.['wsrep_cluster_status'] !== 'Primary' || s['wsrep_local_state_comment'] !== 'Synced' || s['wsrep_cluster_size'] !== '4') return false;
        }
        return true;
      },
      500,
    );
    for (const n of NODES) lab.galera.adopt(n);
    const ds = decisionsSince(t0);
    expect(ds.filter((d) => d.kind === 'bootstrap').map((d) => [d.target, d.forced])).toEqual([[best?.party, true]]);
    expect(
      ds
        .filter((d) => d.kind === 'start')
        .map((d) => d.target)
        .filter((t) => t === 'dbserver:3' || t === 'dbserver:4')
        .sort(),
    ).toEqual(['dbserver:3', 'dbserver:4']);
    // Exactly one mariadbd bootstrapped (its own log says so), and it was dc1's.
    const boots = bootstrapsSince(ends);
    expect(boots).toHaveLength(1);
    expect(['n1', 'n2']).toContain(boots[0]);
    await everyRowOn(NODES);
    // The arbitrator followed their rejoin and never said "cannot rejoin".
    const said = lab.site.logs('arbitrator:1').filter((l) => Date.parse(String(l['time'])) >= t0 || Number(l['time']) >= t0);
    expect(said.filter((l) => l['event'] === 'cannot_rejoin').map((l) => l['msg'])).toEqual([]);
    expect([...seen].filter((s) => s.endsWith('cannot_rejoin'))).toEqual([]);
  }, 600_000);

  const ROUNDS = Number(process.env['COLD_START_KILL_ROUNDS'] ?? 3);
  // Points of the cold start, anywhere in its first 15 s: right away (positions not in yet), while
  // --wsrep-recover runs, about when the order goes out, while nodes join.
  const KILL_SEED = Number(process.env['COLD_START_KILL_SEED'] ?? Date.now() % 1_000_000);
  const killRng = seededRng(KILL_SEED);
  const DELAYS_MS = Array.from({ length: ROUNDS }, () => 300 + Math.floor(killRng.next() * 15_000));

  it(`(5) kill -9 of the arbitrator during a cold start, ${ROUNDS} rounds (COLD_START_KILL_SEED=${KILL_SEED}): never two bootstraps, the restarted one resumes`, async () => {
    onTestFailed(diagnose);
    console.log(`[cold-start] kill points (COLD_START_KILL_SEED=${KILL_SEED}): ${DELAYS_MS.join(', ')} ms`);
    for (let round = 0; round < ROUNDS; round++) {
      await writeRows(10);
      const t0 = Date.now();
      const ends = logEnds();
      await killAll();
      const delay = DELAYS_MS[round] as number;
      await new Promise((res) => setTimeout(res, delay));
      await lab.site.kill9('arbitrator:1');
      await new Promise((res) => setTimeout(res, 1000));
      lab.site.start('arbitrator:1');
      await serving(NODES, 4, 240_000, `round ${round} (arbitrator killed ${delay} ms in): all four back`);
      const ds = decisionsSince(t0);
      expect(ds.filter((d) => d.kind === 'bootstrap').length, `round ${round}: bootstrap decisions`).toBeLessThanOrEqual(1);
      expect(bootstrapsSince(ends).length, `round ${round}: mariadbd bootstraps`).toBeLessThanOrEqual(1);
      await everyRowOn(NODES);
    }
  }, 1_800_000);
});
