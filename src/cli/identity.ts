import { networkInterfaces } from 'node:os';
import type { Party, SiteConfig } from '../site/schema.js';
import { CliError, EXIT } from './exit-codes.js';

export function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

/** `--as type:serial` wins; otherwise the one long-lived party whose host is an address of this machine. */
export function resolveSelf(cfg: SiteConfig, as: string | undefined, addresses: Set<string> = localAddresses()): Party {
  if (as !== undefined) {
    const p = cfg.parties.find((x) => x.id === as);
    if (!p) throw new CliError(EXIT.USAGE, `--as ${as}: no such party in the site config (it lists ${cfg.parties.map((x) => x.id).join(', ')})`);
    return p;
  }
  const mine = cfg.parties.filter((p) => addresses.has(p.host));
  if (mine.length === 1) return mine[0] as Party;
  if (mine.length === 0) {
    throw new CliError(EXIT.USAGE, `no party of the site config has an address of this host (${[...addresses].join(', ')}); name it with --as type:serial`);
  }
  throw new CliError(EXIT.USAGE, `several parties live on this host (${mine.map((p) => p.id).join(', ')}); name one with --as type:serial`);
}
