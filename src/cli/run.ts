import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { realClock } from '../correspondents/clock.js';
import { PostOffice } from '../correspondents/post-office.js';
import { UdpTransport, UdpTransportError } from '../correspondents/udp-transport.js';
import { createLogger } from '../log.js';
import type { PartyId } from '../protocol/party.js';
import { parsePartyId } from '../protocol/party.js';
import type { RunningRole } from '../roles/context.js';
import { roleStarter } from '../roles/index.js';
import { checkSecretFiles, ConfigError, directoryOf, loadKeyring, loadSiteConfigFile } from '../site/load-config.js';
import type { SiteConfig } from '../site/schema.js';
import { LocalState, LocalStateError } from '../state/local-state.js';
import { mathRng } from '../util/rng.js';
import { CliError, EXIT } from './exit-codes.js';
import { resolveSelf } from './identity.js';

export interface RunOptions {
  config: string;
  as?: string;
  logLevel?: string;
}

export function stateFileOf(cfg: SiteConfig, self: string): string {
  return join(cfg.stateDir, `${self.replace(':', '-')}.sqlite`);
}

/** Everything that can be wrong before a daemon starts is checked here, and nothing is started if it is. */
export function loadOrExplain(path: string): SiteConfig {
  try {
    return loadSiteConfigFile(path);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(EXIT.USAGE, err.problems.map((p) => `${err.source}: ${p}`).join('\n'));
    throw err;
  }
}

export async function runParty(opts: RunOptions): Promise<{ stop(): Promise<void>; done: Promise<number> }> {
  const cfg = loadOrExplain(opts.config);
  const party = resolveSelf(cfg, opts.as);
  const self = party.id as PartyId;
  let keyring;
  try {
    keyring = loadKeyring(cfg, opts.config);
    checkSecretFiles(cfg, party, opts.config);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(EXIT.USAGE, err.problems.map((p) => `${err.source}: ${p}`).join('\n'));
    throw err;
  }
  const logger: Logger = createLogger({ name: self, ...(opts.logLevel ? { level: opts.logLevel } : {}) });
  let state: LocalState;
  try {
    state = LocalState.open(stateFileOf(cfg, self));
  } catch (err) {
    if (err instanceof LocalStateError) throw new CliError(EXIT.STATE, err.message);
    throw err;
  }
  const incarnation = state.nextIncarnation();
  let transport: UdpTransport;
  try {
    transport = await UdpTransport.bind(party.host, party.port);
  } catch (err) {
    state.close();
    if (err instanceof UdpTransportError) throw new CliError(EXIT.NETWORK, err.message);
    throw err;
  }
  const post = new PostOffice({
    self,
    site: cfg.site,
    keyring,
    transport,
    clock: realClock,
    rng: mathRng,
    incarnation,
    directory: directoryOf(cfg),
    ackTimeoutMs: cfg.timings.ackTimeout,
    staleAfterMs: cfg.timings.staleAfter,
    maxClockSkewMs: cfg.timings.maxClockSkew,
    logger,
  });
  const type = (parsePartyId(self) as { type: 'arbitrator' | 'dbserver' | 'dbclient' }).type;
  let role: RunningRole;
  try {
    role = await (await roleStarter(type))({ self, party, config: cfg, post, clock: realClock, state, logger, configSource: resolve(opts.config) });
  } catch (err) {
    await post.close();
    state.close();
    throw err;
  }
  logger.info(
    { event: 'started', role: type, site: cfg.site, incarnation, listen: `${transport.local.address}:${transport.local.port}`, keyIds: keyring.ids() },
    `${self} started: ${role.describe()}`,
  );
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((r) => (resolveDone = r));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await role.stop();
    const stats = post.stats();
    await post.close();
    state.close();
    logger.info({ event: 'stopped', accepted: stats.accepted, sent: stats.sent, resent: stats.resent, drops: stats.drops }, `${self} stopped`);
    resolveDone(EXIT.OK);
  };
  return { stop, done };
}
