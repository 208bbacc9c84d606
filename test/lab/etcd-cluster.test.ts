// The etcd lab harness: three real etcd 3.4 members on loopback, stopped by PID, their temp dir
// removed; two of three gone leaves no quorum (what the arbitrator's etcd store must survive).
//   npx vitest run --project lab test/lab/etcd-cluster.test.ts
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ETCDCTL_BIN, EtcdCluster, etcdAvailable } from '../support/etcd-cluster.js';

const avail = etcdAvailable();

function put(endpoints: string[], key: string, value: string): boolean {
  try {
    execFileSync(ETCDCTL_BIN, ['--endpoints', endpoints.join(','), '--command-timeout', '1500ms', 'put', key, value], { stdio: 'pipe', env: { ...process.env, ETCDCTL_API: '3' } });
    return true;
  } catch {
    return false;
  }
}

/** A put that succeeds within `ms` (a killed raft leader costs an election, ~1-2 s here). */
async function putWithin(ms: number, endpoints: string[], key: string, value: string): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (put(endpoints, key, value)) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!avail.ok)(`etcd lab harness${avail.ok ? '' : ` — SKIPPED: ${avail.reason}`}`, () => {
  it('starts three members, loses quorum with two gone, regains it, and leaves nothing behind', async () => {
    const c = await EtcdCluster.start(3);
    try {
      expect(c.endpoints).toHaveLength(3);
      expect(put(c.endpoints, '/t/a', '1')).toBe(true);
      await c.kill('etcd2');
      expect(await putWithin(8000, c.endpoints, '/t/b', '2'), 'two of three still hold quorum').toBe(true);
      await c.kill('etcd3');
      for (let i = 0; i < 3; i++) expect(put([c.member('etcd1').clientUrl], `/t/c${i}`, '3'), 'one of three has no quorum').toBe(false);
      c.restart('etcd2');
      await c.waitHealthy();
      expect(await putWithin(8000, c.endpoints.slice(0, 2), '/t/d', '4')).toBe(true);
    } finally {
      await c.stop();
    }
    expect(existsSync(c.dir)).toBe(false);
    for (const m of c.members) expect(m.proc).toBeNull();
  });
});
