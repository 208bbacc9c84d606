import { parsePartyId, type PartyId } from '../../protocol/party.js';
import { partiesOfType } from '../../site/load-config.js';
import type { ArbitratorParty, DbclientParty, DbserverParty, SiteConfig } from '../../site/schema.js';
import type { DbclientConfig } from './core.js';
import type { ServerSpec } from './routing.js';

/** The load balancer is read back this often (and repaired if it drifted, e.g. after a reload). */
export const LB_POLL_MS = 1000;
/** Weight of every serving server: HAProxy's and glbd's default. */
export const LB_WEIGHT = 1;

export function dbclientConfigOf(cfg: SiteConfig, self: DbclientParty): DbclientConfig {
  const arbitrator = partiesOfType<ArbitratorParty>(cfg, 'arbitrator')[0];
  if (arbitrator === undefined) throw new Error('the site config has no arbitrator');
  const servers: ServerSpec[] = partiesOfType<DbserverParty>(cfg, 'dbserver').map((d) => ({
    id: d.id as PartyId,
    serial: (parsePartyId(d.id) as { serial: number }).serial,
    dc: d.dc,
    dcPriority: cfg.dataCentres[d.dc]?.priority ?? 99,
    allowDonorReads: d.allowDonorReads,
    nodeName: d.nodeName,
    weight: d.weight,
  }));
  return {
    self: self.id as PartyId,
    arbitrator: arbitrator.id as PartyId,
    arbitrators: partiesOfType<ArbitratorParty>(cfg, 'arbitrator').map((a) => a.id as PartyId),
    fenced: cfg.arbitrator.store === 'etcd',
    servers,
    lbKind: self.loadBalancer.kind,
    staleAfterMs: cfg.timings.staleAfter,
    reportIntervalMs: cfg.timings.reportInterval,
    lbPollMs: Math.min(LB_POLL_MS, cfg.timings.reportInterval),
    weight: LB_WEIGHT,
  };
}
