import { userInfo } from 'node:os';
import { isIPv6 } from 'node:net';
import { realClock } from '../../correspondents/clock.js';
import { UdpTransport, UdpTransportError } from '../../correspondents/udp-transport.js';
import { lineLogger } from '../../log-sink.js';
import { isPartyId, type PartyId, partyType } from '../../protocol/party.js';
import type { Keyring } from '../../protocol/keys.js';
import { ConfigError, loadKeyring, partiesOfType } from '../../site/load-config.js';
import type { DbserverParty, SiteConfig } from '../../site/schema.js';
import { mathRng } from '../../util/rng.js';
import { CliError, EXIT } from '../exit-codes.js';
import { loadOrExplain } from '../load.js';
import { ArbitratorClient } from './client.js';
import type { SiteNames } from './parse.js';

export interface Session {
  cfg: SiteConfig;
  client: ArbitratorClient;
  operator: string;
  names: SiteNames;
}

/** Who is typing: the person behind sudo first, then the login; logged with every request. */
export function operatorName(env: NodeJS.ProcessEnv = process.env): string {
  let name = env.SUDO_USER || env.USER || env.LOGNAME || '';
  if (!name) {
    try {
      name = userInfo().username;
    } catch {
      name = 'unknown';
    }
  }
  return name.slice(0, 64);
}

export function siteNames(cfg: SiteConfig): SiteNames {
  return {
    dbservers: partiesOfType<DbserverParty>(cfg, 'dbserver').map((p) => ({ id: p.id, nodeName: p.nodeName })),
    dcs: Object.entries(cfg.dataCentres)
      .sort((a, b) => a[1].priority - b[1].priority)
      .map(([n]) => n),
  };
}

/** Loads the config and the site key (nothing is sent without it), binds a UDP port, opens the client. */
export async function openSession(opts: { config: string; as: string; tries?: number; to?: string }): Promise<Session> {
  if (!isPartyId(opts.as) || partyType(opts.as as PartyId) !== 'command') {
    throw new CliError(EXIT.USAGE, `--as ${opts.as}: the operator's channel speaks as command:N (e.g. command:1)`);
  }
  const cfg = loadOrExplain(opts.config);
  let keyring: Keyring;
  try {
    keyring = loadKeyring(cfg, opts.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new CliError(EXIT.USAGE, `${err.problems.join('; ')}\nminder command needs the site key to speak to the arbitrator (run it as a user who can read the key file).`);
    }
    throw err;
  }
  const arb = cfg.parties.find((p) => (opts.to === undefined ? p.id.startsWith('arbitrator:') : p.id === opts.to));
  if (opts.to !== undefined && (!arb || !opts.to.startsWith('arbitrator:'))) {
    throw new CliError(
      EXIT.USAGE,
      `--to ${opts.to}: not an arbitrator of the site config (${cfg.parties
        .filter((p) => p.id.startsWith('arbitrator:'))
        .map((p) => p.id)
        .join(', ')})`,
    );
  }
  let transport: UdpTransport;
  try {
    transport = await UdpTransport.bind(arb && isIPv6(arb.host) ? '::' : '0.0.0.0', 0);
  } catch (err) {
    if (err instanceof UdpTransportError) throw new CliError(EXIT.NETWORK, err.message);
    throw err;
  }
  // Dropped datagrams are not the operator's business unless asked for (MINDER_LOG_LEVEL=warn);
  // JSON lines on stderr as pino writes them, without loading pino (src/log-sink.ts).
  const logger = lineLogger({ name: opts.as, level: process.env.MINDER_LOG_LEVEL ?? 'error' });
  const client = new ArbitratorClient({
    cfg,
    keyring,
    self: opts.as as PartyId,
    transport,
    clock: realClock,
    rng: mathRng,
    logger,
    ...(opts.tries ? { tries: opts.tries } : {}),
    ...(opts.to !== undefined ? { to: opts.to as PartyId } : {}),
  });
  return { cfg, client, operator: operatorName(), names: siteNames(cfg) };
}
