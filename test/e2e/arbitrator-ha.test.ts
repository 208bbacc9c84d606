// Arbitrator HA on etcd on the real lab (issue 13): a three-member etcd (harness, loopback,
// stopped by PID), two `minder run` arbitrators with arbitrator.store etcd, the real 2+2 Galera
// lab with its four dbservers. One lab bring-up for the file:
//  1. kill -9 the leader at a 2|2 cut → the standby takes the lease and promotes the preferred
//     half (measured from the cut); one promotion in all, the other half stays non-Primary;
//  2. the arbitrators cut from each other (not from etcd) at a 2|2 cut → one promotion only, by
//     the leader; the standby keeps standing by;
//  3. an old leader's make_primary delivered after the new leader took over → refused by the
//     dbserver for its older fencing token: the leader decides, its make_primary to dc1 is
//     dropped on the wire, it is paused (SIGSTOP) past its lease, the standby takes the lead and
//     carries the decision out; then the old leader resumes and its correspondent resends;
//  4. etcd without quorum (two of three members killed) → no promotion at a cut, status says
//     why; quorum back → the leader promotes the preferred half.
// Run (root, one lab at a time):
//   npm run build && flock /tmp/minder-lab.lock npx vitest run --project lab test/e2e/arbitrator-ha.test.ts

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { isNonPrimary, isSyncedPrimary, labAvailable } from '../lab/galera-lab.js';
import { ensureChain, findBinary, LAB_CHAIN } from '../lab/lab-host.js';
import { MINDER } from '../support/cli.js';
import { EtcdCluster, etcdAvailable } from '../support/etcd-cluster.js';
import { clusterStatus, type NodeName, type SplitLab, startSplitLab, statusOf, waitUntil, writes } from './arbitrator-lab.js';

const lab0 = labAvailable();
const etcd0 = etcdAvailable();
const avail = lab0.ok && etcd0.ok ? { ok: true as const } : { ok: false as const, reason: !lab0.ok ? lab0.reason : !etcd0.ok ? etcd0.reason : '' };
const ARBS = ['arbitrator:1', 'arbitrator:2'];
const DC1: NodeName[] = ['n1', 'n2'];
const DC2: NodeName[] = ['n3', 'n4'];
const ARB_ADDRESS: Record<string, string> = { 'arbitrator:1': '127.0.0.30', 'arbitrator:2': '127.0.0.31' };

/** One DROP rule in the lab's chain (flushed by heal()), from one address to another. */
async function drop(from: string, to: string): Promise<void> {
  const bin = findBinary('iptables');
  if (!bin) throw new Error('iptables is missing');
  await ensureChain(bin);
  execFileSync(bin, ['-w', '-A', LAB_CHAIN, '-s', from, '-d', to, '-j', 'DROP']);
}
function undrop(from: string, to: string): void {
  const bin = findBinary('iptables') as string;
  execFileSync(bin, ['-w', '-D', LAB_CHAIN, '-s', from, '-d', to, '-j', 'DROP']);
}

describe.skipIf(!avail.ok)(`arbitrator HA on etcd, real 2+2 Galera lab${avail.ok ? '' : ` — SKIPPED: ${avail.reason}`}`, () => {
  let etcd: EtcdCluster;
  let lab: SplitLab;
  const promotions = () =>
    ARBS.flatMap((a) =>
      lab.site
        .logs(a)
        .filter((l) => l.event === 'promotion' || l.event === 'forced_promotion')
        .map((l) => ({ ...l, by: a })),
    );

  /** The leader, as any arbitrator that answers says. */
  function leader(): string | null {
    for (const a of ARBS) {
      const st = statusOf(lab.site, a)?.arbitrator.store;
      if (st?.leading) return a;
      if (st?.leader) return st.leader;
    }
    return null;
  }

  async function allFreshAndPrimary(to: string): Promise<void> {
    await waitUntil(
      `${to} to see four fresh Primary nodes`,
      40_000,
      () => {
        const s = statusOf(lab.site, to);
        return s !== null && s.parties.filter((p) => p.db).every((p) => p.fresh && p.db?.cluster === 'Primary' && p.db.localState === 'Synced');
      },
      300,
    );
  }

  async function staysNonPrimary(nodes: NodeName[], ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      for (const n of nodes) expect(await clusterStatus(lab.galera, n), `${n} must stay non-Primary`).toBe('non-Primary');
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function healAndSettle(): Promise<void> {
    await lab.galera.heal();
    for (const n of [...DC1, ...DC2]) await lab.galera.waitFor(n, isSyncedPrimary(4), 90_000);
  }

  function diagnose(): void {
    const lines: string[] = [];
    for (const p of [...ARBS, 'dbserver:1', 'dbserver:3']) {
      const interesting = lab.site.logs(p).filter((l) => Number(l.level) >= 40 || /promot|make_primary|lead|standing|store|fenced|decision/.test(String(l.event)));
      for (const l of interesting.slice(-20)) lines.push(`${p} ${String(l.time)} ${String(l.event)}: ${String(l.msg).slice(0, 300)}`);
    }
    console.log(lines.join('\n'));
  }

  beforeAll(async () => {
    if (!existsSync(MINDER)) throw new Error(`${MINDER} is missing: run npm run build first`);
    etcd = await EtcdCluster.start(3);
    lab = await startSplitLab({
      arbitrators: [
        { address: '127.0.0.30', port: 4800 },
        { address: '127.0.0.31', port: 4800 },
      ],
      arbitratorStore: { store: 'etcd', etcd: { endpoints: etcd.endpoints, leaseTtl: '3s', requestTimeout: '1s', followInterval: '500ms' } },
      // Four promotions in one file: above the default cap of three an hour (which then pauses, as it should).
      coldStart: { maxAutomatic: 10 },
    });
    await lab.galera.exec('n1', 'CREATE DATABASE minder_e2e');
    await lab.galera.exec('n1', 'CREATE TABLE minder_e2e.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))');
    try {
      await waitUntil('an arbitrator to lead', 30_000, () => leader());
      await allFreshAndPrimary('arbitrator:1');
      await allFreshAndPrimary('arbitrator:2');
    } catch (err) {
      diagnose();
      for (const a of ARBS) console.log(a, JSON.stringify(lab.site.command(['status', '--json', '--tries', '2', '--to', a], 10_000)).slice(0, 1500));
      throw err;
    }
  });

  afterAll(async () => {
    await lab?.close();
    await etcd?.stop();
  });

  it('kill -9 of the leader at a 2|2 cut: the standby takes the lease and promotes the preferred half, once', async () => {
    onTestFailed(diagnose);
    const first = leader() as string;
    const other = ARBS.find((a) => a !== first) as string;
    const standbyStatus = statusOf(lab.site, other);
    expect(standbyStatus?.arbitrator.store?.leader, 'the standby names the leader').toBe(first);
    expect(standbyStatus?.arbitrator.evaluation?.reasons.map((r) => r.code)).toContain('standby');
    const before = promotions().length;

    const t0 = Date.now();
    await lab.galera.cutDcs('dc1', 'dc2');
    await lab.site.kill9(first);
    const writable = await waitUntil('dc1 to accept writes', 60_000, async () => (await writes(lab.galera, 'n1', 'ha-1')) && Date.now(), 100);
    console.log(`[arbitrator-ha] leader ${first} killed at the cut → ${other} promoted, dc1 accepts writes: ${writable - t0} ms after the cut`);

    const made = promotions().slice(before);
    expect(made.map((p) => p.by)).toEqual([other]);
    expect(['dbserver:1', 'dbserver:2']).toContain((made[0] as Record<string, unknown> | undefined)?.['target']);
    await staysNonPrimary(DC2, 4000);
    const st = statusOf(lab.site, other);
    expect(st?.arbitrator.store?.leading).toBe(true);
    expect(st?.arbitrator.decisions.filter((d) => d.decidedAt >= t0 - 60_000 && d.outcome !== 'refused')).toHaveLength(1);

    await healAndSettle();
    // The old leader comes back as a standby.
    lab.site.start(first);
    await waitUntil(`${first} to stand by`, 20_000, () => statusOf(lab.site, first)?.arbitrator.store?.leader === other);
    await allFreshAndPrimary(other);
    expect(promotions().slice(before)).toHaveLength(1);
  });

  it('arbitrators cut from each other, not from etcd: one promotion only, by the leader', async () => {
    onTestFailed(diagnose);
    const first = leader() as string;
    const other = ARBS.find((a) => a !== first) as string;
    const before = promotions().length;
    await drop(ARB_ADDRESS['arbitrator:1'] as string, ARB_ADDRESS['arbitrator:2'] as string);
    await drop(ARB_ADDRESS['arbitrator:2'] as string, ARB_ADDRESS['arbitrator:1'] as string);
    await lab.galera.cutDcs('dc1', 'dc2');
    await waitUntil('dc1 to accept writes', 60_000, () => writes(lab.galera, 'n1', 'ha-cut-arbs'), 200);
    await staysNonPrimary(DC2, 4000);
    const made = promotions().slice(before);
    expect(made.map((p) => p.by)).toEqual([first]);
    const st = statusOf(lab.site, other);
    expect(st?.arbitrator.store?.leading).toBe(false);
    expect(st?.arbitrator.store?.leader).toBe(first);
    expect(st?.arbitrator.evaluation?.reasons.map((r) => r.code)).toContain('standby');
    await healAndSettle();
    await allFreshAndPrimary(first);
    expect(promotions().slice(before)).toHaveLength(1);
  });

  it("an old leader's make_primary, delivered after the new leader took over, is refused for its fencing token", async () => {
    onTestFailed(diagnose);
    const old = leader() as string;
    const next = ARBS.find((a) => a !== old) as string;
    const oldToken = statusOf(lab.site, old)?.arbitrator.store?.token as number;
    expect(oldToken).toBeGreaterThan(0);
    const before = promotions().length;
    const dc1Addresses = lab.galera
      .nodes()
      .filter((n) => DC1.includes(n.name as NodeName))
      .map((n) => n.address);
    const from = ARB_ADDRESS[old] as string;
    // The old leader's datagrams to dc1 are lost on the wire (its reports still come in).
    for (const a of dc1Addresses) await drop(from, a);
    await lab.galera.cutDcs('dc1', 'dc2');
    await waitUntil(`${old} to decide`, 30_000, () => promotions().length > before, 50);
    const decision = promotions().slice(before)[0] as Record<string, unknown>;
    expect(decision.by).toBe(old);
    const target = String(decision['target']);
    const id = String(decision['decisionId']);
    // Committed in etcd (the standby reads it back), so its make_primary has left, into the drop.
    await waitUntil(`${next} to read ${id} from etcd`, 10_000, () => statusOf(lab.site, next)?.arbitrator.decisions.some((d) => d.id === id), 100);
    expect(lab.site.signal(old, 'SIGSTOP')).toBe(true);
    try {
      // The standby takes the lease once it has expired, and carries out the same decision.
      await waitUntil('dc1 to accept writes', 60_000, () => writes(lab.galera, 'n1', 'ha-fence'), 200);
      const st = statusOf(lab.site, next);
      expect(st?.arbitrator.store?.leading).toBe(true);
      expect(st?.arbitrator.store?.token).toBeGreaterThan(oldToken);
      expect(st?.arbitrator.decisions.filter((d) => d.outcome !== 'refused').map((d) => d.id)).toContain(id);
      // The old leader's make_primary reaches dc1 again: refused for its token.
      for (const a of dc1Addresses) undrop(from, a);
    } finally {
      lab.site.signal(old, 'SIGCONT');
    }
    const refusal = await lab.site.waitForLog(target, (l) => l.event === 'make_primary_fenced' && l['fence'] === oldToken, 20_000);
    expect(String(refusal['msg'])).toMatch(/fencing token \d+ is older than \d+/);
    // Still one promotion; dc2 never became Primary; the old leader stands by.
    expect(promotions().slice(before)).toHaveLength(1);
    await staysNonPrimary(DC2, 3000);
    await waitUntil(`${old} to stand by`, 20_000, () => statusOf(lab.site, old)?.arbitrator.store?.leader === next);
    await healAndSettle();
    await allFreshAndPrimary(next);
  });

  it('etcd without quorum: nothing is promoted at a cut and status says why; quorum back: the preferred half is promoted', async () => {
    onTestFailed(diagnose);
    const before = promotions().length;
    await etcd.kill('etcd2');
    await etcd.kill('etcd3');
    await waitUntil('every arbitrator to report the store unavailable', 20_000, () => ARBS.every((a) => statusOf(lab.site, a)?.arbitrator.store?.problem));
    await lab.galera.cutDcs('dc1', 'dc2');
    for (const n of [...DC1, ...DC2]) await lab.galera.waitFor(n, isNonPrimary, 30_000);
    await staysNonPrimary([...DC1, ...DC2], 6000);
    expect(promotions().length).toBe(before);
    const st = statusOf(lab.site, 'arbitrator:1');
    expect(st?.arbitrator.evaluation?.reasons[0]?.code).toBe('store_unavailable');
    expect(st?.arbitrator.evaluation?.reasons[0]?.text).toMatch(/store is unavailable/);

    etcd.restart('etcd2');
    const t1 = Date.now();
    const writable = await waitUntil('dc1 to accept writes after quorum is back', 60_000, async () => (await writes(lab.galera, 'n1', 'ha-2')) && Date.now(), 200);
    console.log(`[arbitrator-ha] quorum back → dc1 writable after ${writable - t1} ms`);
    expect(promotions().slice(before)).toHaveLength(1);
    await staysNonPrimary(DC2, 3000);
    await healAndSettle();
  });
});
