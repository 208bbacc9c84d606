// The arbitrator's etcd store against a real three-member etcd (issue 13): one of two stores
// leads, with a fencing token; a second decision for the same last primary component is refused
// by etcd even from a leader; a leader that stops is replaced by the other with a larger token;
// with two of three members gone nobody leads and the store says why.
//   npm run build && npx vitest run --project lab test/lab/etcd-store.test.ts
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { PartyId } from '../../src/protocol/party.js';
import { type DecisionRecord, decisionRecord, RECORD_KEYS } from '../../src/roles/arbitrator/records.js';
import { EtcdArbitratorStore, type StoreStatus } from '../../src/roles/arbitrator/store/etcd-store.js';
import { EtcdCluster, etcdAvailable } from '../support/etcd-cluster.js';
import { waitUntil } from '../support/wait.js';

const avail = etcdAvailable();

function decision(id: string, key: string, target: PartyId): DecisionRecord {
  return decisionRecord.parse({
    id,
    kind: 'make_primary',
    key,
    lastPrimary: null,
    view: { stateUuid: 'u', members: ['a', 'b'], lastPrimaryViewId: key },
    members: [target],
    target,
    forced: false,
    operator: null,
    requestId: null,
    reason: 'test',
    decidedAt: 1,
    validForMs: 1000,
    outcome: 'pending',
    outcomeReason: null,
    outcomeAt: null,
  });
}

describe.skipIf(!avail.ok)(`arbitrator etcd store on a real etcd${avail.ok ? '' : ` — SKIPPED: ${avail.reason}`}`, () => {
  let etcd: EtcdCluster;
  const stores: EtcdArbitratorStore[] = [];
  const seen = new Map<string, StoreStatus[]>();

  function open(party: PartyId): EtcdArbitratorStore {
    const list: StoreStatus[] = [];
    seen.set(party, list);
    const s = new EtcdArbitratorStore({
      cfg: { endpoints: etcd.endpoints, leaseTtl: 2000, requestTimeout: 1000, followInterval: 200 },
      prefix: '/galera-minder/lab',
      self: { party, host: '127.0.0.1', port: 1, incarnation: 1 },
      logger: silentLogger(),
      seed: null,
      onStatus: (st) => list.push(st),
    });
    stores.push(s);
    s.start();
    return s;
  }
  const last = (p: string) => seen.get(p)?.at(-1);

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
  });
  afterAll(async () => {
    for (const s of stores) await s.stop().catch(() => undefined);
    await etcd?.stop();
  });

  it('one leads, the other follows naming it; a decision slot is taken once only; the follower takes over with a larger token', async () => {
    const a = open('arbitrator:1');
    await waitUntil('arbitrator:1 to lead', 10_000, () => last('arbitrator:1')?.kind === 'leading');
    const b = open('arbitrator:2');
    await waitUntil('arbitrator:2 to follow', 10_000, () => last('arbitrator:2')?.kind === 'following');
    const follow = last('arbitrator:2');
    expect(follow?.kind === 'following' && follow.leader?.party).toBe('arbitrator:1');
    const l1 = last('arbitrator:1');
    const t1 = l1?.kind === 'leading' ? l1.token : 0;
    expect(a.leadingToken).toBe(t1);

    await a.write(RECORD_KEYS.decisions, [decision('d-1', 'pc-7', 'dbserver:1')], t1);
    // A write for a term that is not ours is refused before it reaches etcd…
    await expect(b.write(RECORD_KEYS.decisions, [decision('d-2', 'pc-7', 'dbserver:3')], t1)).rejects.toThrow(/not leading/);
    // …and etcd itself refuses a second decision for the same LastPC, even from the leader
    // (a fresh view of the slots: as a second leader in a lease race would hold).
    const c = open('arbitrator:3');
    await waitUntil('arbitrator:3 to follow', 10_000, () => last('arbitrator:3')?.kind === 'following');
    await expect(
      (async () => {
        const fake = c as unknown as { token: number | null };
        fake.token = t1;
        await c.write(RECORD_KEYS.decisions, [decision('d-2', 'pc-7', 'dbserver:3')], t1);
      })(),
    ).rejects.toThrow(/already spent by d-1/);
    (c as unknown as { token: number | null }).token = null;

    await a.stop();
    await waitUntil('another to lead', 10_000, () => [last('arbitrator:2'), last('arbitrator:3')].some((s) => s?.kind === 'leading'));
    const next = [last('arbitrator:2'), last('arbitrator:3')].find((s) => s?.kind === 'leading');
    expect(next?.kind === 'leading' && next.token).toBeGreaterThan(t1);
    expect(next?.kind === 'leading' && next.records.decisions.map((d) => d.id)).toEqual(['d-1']);
  });

  it('two of three members gone: nobody leads, and the store says etcd does not answer', async () => {
    await etcd.kill('etcd2');
    await etcd.kill('etcd3');
    await waitUntil('every store to be unavailable', 15_000, () => ['arbitrator:2', 'arbitrator:3'].every((p) => last(p)?.kind === 'unavailable'));
    const u = last('arbitrator:2');
    expect(u?.kind === 'unavailable' && u.problem).toMatch(/etcd|lease|quorum/);
    expect(stores.every((s) => s.leadingToken === null)).toBe(true);
  });
});
