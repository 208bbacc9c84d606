// The lab harness against a real 2+2 Galera cluster on loopback (dc1: n1,n2; dc2: n3,n4).
// Tests run in order and share one lab: each step starts from the state the previous one left.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_CHAIN, LabError, isNonPrimary, isSyncedPrimary, labAvailable, startGaleraLab, type GaleraLab } from './galera-lab.js';

const availability = labAvailable();
const skipReason = availability.ok ? '' : ` — SKIPPED: ${availability.reason}`;
if (!availability.ok) console.warn(`galera-lab.test.ts skipped: ${availability.reason}`);

const ALL = ['n1', 'n2', 'n3', 'n4'];
const DC2 = ['n3', 'n4'];

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function iptablesOk(args: string[]): boolean {
  try {
    execFileSync('iptables', ['-w', ...args], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const out = await fn();
  console.log(`[lab timing] ${label}: ${Date.now() - t0} ms`);
  return out;
}

describe.skipIf(!availability.ok)(`galera lab on loopback${skipReason}`, () => {
  let lab: GaleraLab | undefined;
  const the = (): GaleraLab => {
    if (lab === undefined) throw new Error('lab did not start');
    return lab;
  };

  beforeAll(async () => {
    lab = await startGaleraLab({
      nodes: [
        { name: 'n1', dc: 'dc1' },
        { name: 'n2', dc: 'dc1' },
        { name: 'n3', dc: 'dc2' },
        { name: 'n4', dc: 'dc2' },
      ],
    });
    console.log(`[lab timing] bring-up of 4 nodes: ${lab.bringUpMs} ms (waited ${lab.lockWaitMs} ms for the lab lock)`);
  });

  afterAll(async () => {
    await lab?.close();
  });

  it('brings up four nodes, all Synced in a Primary cluster of 4', async () => {
    for (const n of ALL) {
      const s = await the().status(n);
      expect(s['wsrep_local_state_comment']).toBe('Synced');
      expect(s['wsrep_cluster_status']).toBe('Primary');
      expect(s['wsrep_cluster_size']).toBe('4');
    }
    expect(the().node('n3')).toMatchObject({ address: '127.0.0.13', port: 3306, dc: 'dc2', running: true });
  });

  it('refuses a second lab on the same addresses and names the holder', async () => {
    const err = await startGaleraLab({ nodes: [{ name: 'x1', dc: 'dc1' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('LAB_PORT_BUSY');
    expect((err as LabError).message).toMatch(/127\.0\.0\.11:3306.*mariadbd/);
  });

  it('replicates a write made on n1 to n4', async () => {
    await the().exec('n1', 'CREATE DATABASE labtest');
    await the().exec('n1', 'CREATE TABLE labtest.t (id INT PRIMARY KEY, v VARCHAR(32))');
    await the().exec('n1', 'INSERT INTO labtest.t VALUES (1, ?)', ['before-cut']);
    // syncWait: apply on n4 is asynchronous; a causal read waits for it.
    const rows = await the().query('n4', 'SELECT v FROM labtest.t WHERE id = 1', [], { syncWait: true });
    expect(rows).toEqual([{ v: 'before-cut' }]);
  });

  it('cutDcs(dc1, dc2): all four nodes go non-Primary within 15 s', async () => {
    await timed('2+2 cut → all four non-Primary', async () => {
      await the().cutDcs('dc1', 'dc2');
      await Promise.all(ALL.map((n) => the().waitFor(n, isNonPrimary, 15_000, 'non-Primary after cut')));
    });
    const s = await the().status('n3');
    expect(s['wsrep_cluster_size']).toBe('2');
    expect(s['wsrep_ready']).toBe('OFF');
  });

  it('pc.bootstrap=YES on n1: dc1 Primary and writable, dc2 still non-Primary', async () => {
    await timed('pc.bootstrap on n1 → n1 Primary', () => the().pcBootstrap('n1'));
    await the().waitFor('n2', isSyncedPrimary(2), 10_000);
    await the().exec('n2', 'INSERT INTO labtest.t VALUES (2, ?)', ['during-cut']);
    for (const n of DC2) expect(isNonPrimary(await the().status(n))).toBe(true);
    // A non-Primary node refuses SQL (ER_UNKNOWN_COM_ERROR 1047).
    await expect(the().query('n3', 'SELECT v FROM labtest.t')).rejects.toMatchObject({ errno: 1047 });
  });

  it('heal: one cluster of 4 again, and n3 sees the write made during the cut', async () => {
    await timed('heal → all four Synced, size 4', async () => {
      await the().heal();
      await Promise.all(ALL.map((n) => the().waitFor(n, isSyncedPrimary(4), 30_000, 'size 4 after heal')));
    });
    const rows = await the().query('n3', 'SELECT v FROM labtest.t ORDER BY id', [], { syncWait: true });
    expect(rows).toEqual([{ v: 'before-cut' }, { v: 'during-cut' }]);
  });

  it('kill n4: grastate.dat keeps seqno -1 and --wsrep-recover finds the position', async () => {
    const before = await the().status('n4');
    await the().kill('n4');
    expect(the().node('n4').running).toBe(false);
    const gs = the().grastate('n4');
    expect(gs?.seqno).toBe(-1);
    expect(gs?.uuid).toBe(before['wsrep_cluster_state_uuid']);
    const pos = await timed('--wsrep-recover on n4', () => the().recover('n4'));
    expect(pos.uuid).toBe(before['wsrep_cluster_state_uuid']);
    expect(pos.seqno).toBe(Number(before['wsrep_last_committed']));
  });

  it('close() leaves no mariadbd of ours, no temp dir and no iptables chain', async () => {
    const lab0 = the();
    // A cut in place at close must not survive it either.
    await lab0.cut(['n1'], ['n2']);
    expect(iptablesOk(['-S', LAB_CHAIN])).toBe(true);
    const pids = lab0.nodes().flatMap((n) => (n.pid === undefined ? [] : [n.pid]));
    expect(pids.length).toBe(3);
    await timed('close()', () => lab0.close());
    await lab0.close(); // idempotent
    for (const pid of pids) expect(pidAlive(pid)).toBe(false);
    expect(existsSync(lab0.root)).toBe(false);
    expect(iptablesOk(['-S', LAB_CHAIN])).toBe(false);
    expect(iptablesOk(['-C', 'INPUT', '-j', LAB_CHAIN])).toBe(false);
    await expect(lab0.status('n1')).rejects.toMatchObject({ code: 'LAB_CLOSED' });
  });
});
