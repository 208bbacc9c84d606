/** Parties are named `type:serial`, as the site config names them (docs/configuration.md). */
export const PARTY_TYPES = ['arbitrator', 'dbserver', 'dbclient', 'wsrep_notify_cmd', 'command'] as const;
export type PartyType = (typeof PARTY_TYPES)[number];

/** Long-lived parties are listed in the site config with a fixed address; transient ones are not. */
export const LONG_LIVED_TYPES: readonly PartyType[] = ['arbitrator', 'dbserver', 'dbclient'];

export type PartyId = `${PartyType}:${number}`;

const PARTY_RE = /^(arbitrator|dbserver|dbclient|wsrep_notify_cmd|command):([1-9][0-9]{0,5})$/;

export function isPartyId(s: unknown): s is PartyId {
  return typeof s === 'string' && PARTY_RE.test(s);
}

export function parsePartyId(s: string): { type: PartyType; serial: number } | null {
  const m = PARTY_RE.exec(s);
  if (!m) return null;
  return { type: m[1] as PartyType, serial: Number(m[2]) };
}

export function partyType(id: PartyId): PartyType {
  return id.slice(0, id.indexOf(':')) as PartyType;
}

export function isLongLived(id: PartyId): boolean {
  return LONG_LIVED_TYPES.includes(partyType(id));
}
