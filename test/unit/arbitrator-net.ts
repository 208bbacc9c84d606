import { type Clock, SimClock } from '../../src/correspondents/clock.js';
import { MemoryNetwork } from '../../src/correspondents/memory-network.js';
import { PostOffice } from '../../src/correspondents/post-office.js';
import { silentLogger } from '../../src/log.js';
import { Keyring } from '../../src/protocol/keys.js';
import type { DbStatusReport, WsrepStatus } from '../../src/protocol/verbs.js';
import { directoryOf } from '../../src/site/load-config.js';
import { seededRng } from '../../src/util/rng.js';
import { type Node, report, siteConfig } from './arbitrator-fixtures.js';

/**
 * The 2+2 site of arbitrator-fixtures on a memory network with real post offices: the
 * arbitrator's office (on its own clock, which a test may step) and one per dbserver, whose
 * `say` sends a report observed now by the dbserver's own clock. For tests that must go through
 * the RoleHost and the post office (clocks, failures), not only the core.
 */
export function netSite(o: { arbitratorClock?: (sim: SimClock) => Clock; serverClock?: (serial: number, sim: SimClock) => Clock | undefined; siteOpts?: Parameters<typeof siteConfig>[0] } = {}) {
  const cfg = siteConfig(o.siteOpts);
  const clock = new SimClock();
  const net = new MemoryNetwork(clock, seededRng(1));
  const keyring = new Keyring([{ id: 1, secret: Buffer.alloc(32, 5) }], 1);
  const office = (self: 'arbitrator:1' | `dbserver:${number}`, address: string, port: number, own: Clock = clock) =>
    new PostOffice({
      self,
      site: cfg.site,
      keyring,
      transport: net.endpoint(address, port),
      clock: own,
      rng: seededRng(2),
      incarnation: 1,
      directory: directoryOf(cfg),
      ackTimeoutMs: 3000,
      staleAfterMs: cfg.timings.staleAfter,
      maxClockSkewMs: cfg.timings.maxClockSkew,
      logger: silentLogger(),
    });
  const arbClock = o.arbitratorClock ? o.arbitratorClock(clock) : clock;
  const post = office('arbitrator:1', '10.0.0.1', 4800, arbClock);
  const servers = [1, 2, 3, 4].map((i) => office(`dbserver:${i}`, `10.0.1.${i}`, 4801, o.serverClock?.(i, clock) ?? clock));
  const makePrimary: number[] = [];
  servers.forEach((po, i) => {
    po.onMessage((m) => {
      if (m.verb === 'make_primary') makePrimary.push(i + 1);
    });
  });
  const names: Node[] = ['n1', 'n2', 'n3', 'n4'];
  const say = (i: number, w: WsrepStatus | null, extra: Partial<DbStatusReport> = {}) => servers[i]?.publish('arbitrator:1', 'db_status_report', report(w, { observedAt: clock.now(), ...extra }));
  const close = async () => {
    await post.close();
    for (const s of servers) await s.close();
  };
  return { cfg, clock, arbClock, post, servers, names, say, makePrimary, close };
}
