import type { PartyId } from '../../protocol/party.js';
import type { DbserverParty, SiteConfig } from '../../site/schema.js';
import type { ColdStartSettings } from './cold-start.js';

/** A dbserver as the arbitrator weighs it: the config's DC and Galera weight (pc.weight). */
export interface DbserverInfo {
  id: PartyId;
  serial: number;
  dc: string;
  weight: number;
  nodeName: string;
}

/**
 * What the decision core needs from the site config, as plain data: the simulator builds the
 * initial state from it and the core never reads a file.
 */
export interface ArbitratorSettings {
  self: PartyId;
  site: string;
  /** The arbitrator's own DC, if the config gives one (it may live in a third place). */
  selfDc: string | null;
  /** Where the site config came from (a file path, later the database), shown by `status`. */
  configSource: string;
  /** DC names, most preferred first (the lowest `priority` number is the primary DC). */
  dcOrder: string[];
  /** Sorted by serial. */
  dbservers: DbserverInfo[];
  /** Sorted by serial. */
  dbclients: PartyId[];
  timings: {
    reportIntervalMs: number;
    ackTimeoutMs: number;
    failoverPeriodMs: number;
    staleAfterMs: number;
    makePrimaryValidForMs: number;
    /** Bound on how far a sender's clock may differ from ours (timings.maxClockSkew). */
    maxClockSkewMs: number;
    /** A wall-clock jump of more than this against the monotonic clock starts a TILT. */
    clockJumpMs: number;
    /** A TILT lasts this long (never less than staleAfter: every report judged on the jumped clock ages out). */
    tiltPeriodMs: number;
  };
  /** docs/cold-start.md; absent: DEFAULT_COLD_START. */
  coldStart?: ColdStartSettings;
}

/** How often candidates are re-evaluated at most apart (the issue: at least every second). */
export const EVALUATE_EVERY_MS = 1000;

function serialOf(id: string): number {
  return Number(id.slice(id.indexOf(':') + 1));
}

export function arbitratorSettings(cfg: SiteConfig, self: PartyId, configSource: string): ArbitratorSettings {
  const dbservers = cfg.parties
    .filter((p): p is DbserverParty => p.id.startsWith('dbserver:'))
    .map((p) => ({ id: p.id as PartyId, serial: serialOf(p.id), dc: p.dc, weight: p.weight, nodeName: p.nodeName }))
    .sort((a, b) => a.serial - b.serial);
  const dbclients = cfg.parties
    .filter((p) => p.id.startsWith('dbclient:'))
    .map((p) => p.id as PartyId)
    .sort((a, b) => serialOf(a) - serialOf(b));
  const dcOrder = Object.entries(cfg.dataCentres)
    .sort((a, b) => a[1].priority - b[1].priority || (a[0] < b[0] ? -1 : 1))
    .map(([name]) => name);
  const t = cfg.timings;
  const me = cfg.parties.find((p) => p.id === self);
  return {
    self,
    site: cfg.site,
    selfDc: me?.dc ?? null,
    configSource,
    dcOrder,
    dbservers,
    dbclients,
    timings: {
      reportIntervalMs: t.reportInterval,
      ackTimeoutMs: t.ackTimeout,
      failoverPeriodMs: t.failoverPeriod,
      staleAfterMs: t.staleAfter,
      makePrimaryValidForMs: t.makePrimaryValidFor,
      maxClockSkewMs: t.maxClockSkew,
      clockJumpMs: t.clockJump,
      tiltPeriodMs: Math.max(t.tiltPeriod, t.staleAfter),
    },
    coldStart: { policy: cfg.coldStart.policy, maxAutomatic: cfg.coldStart.maxAutomatic, windowMs: cfg.coldStart.window },
  };
}

/**
 * Look-ups by party id and by node name, built once per settings object: the core consults them
 * for every report, and a scan of 1,000 dbservers per report made the arbitrator's cost grow with
 * the square of the site.
 */
const indexes = new WeakMap<ArbitratorSettings, { byId: Map<string, DbserverInfo>; byName: Map<string, DbserverInfo> }>();
function indexOf(s: ArbitratorSettings) {
  let ix = indexes.get(s);
  if (!ix) {
    ix = { byId: new Map(s.dbservers.map((d) => [d.id, d])), byName: new Map(s.dbservers.map((d) => [d.nodeName, d])) };
    indexes.set(s, ix);
  }
  return ix;
}

export function dbserverInfo(s: ArbitratorSettings, id: string): DbserverInfo | undefined {
  return indexOf(s).byId.get(id);
}

export function dbserverByNodeName(s: ArbitratorSettings, nodeName: string): DbserverInfo | undefined {
  return indexOf(s).byName.get(nodeName);
}

/** A dbserver named by party id or by its Galera node name (`n3`), as the operator may type it. */
export function resolveDbserver(s: ArbitratorSettings, name: string): DbserverInfo | undefined {
  return s.dbservers.find((d) => d.id === name || d.nodeName === name);
}
