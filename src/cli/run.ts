import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { monotonicOf, realClock } from '../correspondents/clock.js';
import { PostOffice } from '../correspondents/post-office.js';
import { UdpTransport, UdpTransportError } from '../correspondents/udp-transport.js';
import { createLogger } from '../log.js';
import type { PartyId } from '../protocol/party.js';
import { parsePartyId } from '../protocol/party.js';
import type { PartyHttp } from '../http/party-http.js';
import type { RunningRole } from '../roles/context.js';
import { roleStarter } from '../roles/index.js';
import { ConfigSource, ConfigSourceError, fileConfigSource, resolveStartConfig, stateFilePath } from '../site/config-source.js';
import type { Keyring } from '../protocol/keys.js';
import { checkSecretFiles, loadKeyring } from '../site/load-config.js';
import type { Party, SiteConfig } from '../site/schema.js';
import { LocalState, LocalStateError } from '../state/local-state.js';
import { mathRng } from '../util/rng.js';
import { CliError, EXIT } from './exit-codes.js';
import { resolveSelf } from './identity.js';
import { explainConfigError, loadBootstrapOrExplain, loadOrExplain } from './load.js';

// Moved to ./load.js (so that `minder command` need not load this file); kept here for callers.
export { loadBootstrapOrExplain, loadOrExplain };

export interface RunOptions {
  /** A file-only site: the whole site config in a file, never re-read. */
  config?: string;
  /** The per-host bootstrap file: the site config comes from the database (or the local copy). */
  bootstrap?: string;
  as?: string;
  logLevel?: string;
}

export function stateFileOf(cfg: SiteConfig, self: string): string {
  return stateFilePath(cfg.stateDir, self);
}

function openStateOrExplain(path: string): LocalState {
  try {
    return LocalState.open(path);
  } catch (err) {
    if (err instanceof LocalStateError) throw new CliError(EXIT.STATE, err.message);
    throw err;
  }
}

/** The config a party starts with, its state file, and how to say where the config came from. */
interface Loaded {
  cfg: SiteConfig;
  party: Party;
  /** Already open when the config came from the database (the local copy lives in it). */
  state?: LocalState;
  /** For error lines about the config (keys, password file). */
  source: string;
  /** Where the config came from, as `status` shows it (RoleContext.configSource). */
  describe: string;
  makeSource(logger: Logger): ConfigSource;
}

function loadFromFile(path: string, as: string | undefined): Loaded {
  const cfg = loadOrExplain(path);
  const party = resolveSelf(cfg, as);
  return {
    cfg,
    party,
    source: path,
    describe: resolve(path),
    makeSource: (logger) => fileConfigSource(cfg, resolve(path), party.id as PartyId, realClock, logger),
  };
}

async function loadFromDatabase(path: string, as: string | undefined): Promise<Loaded> {
  const boot = loadBootstrapOrExplain(path);
  // mysql2 is loaded only by a party that reads its config from the database (and the dbserver).
  const { ConfigStore } = await import('../site/config-store.js');
  const fetcher = new ConfigStore(boot.database);
  const who = as ?? boot.as;
  let r: Awaited<ReturnType<typeof resolveStartConfig>>;
  try {
    r = await resolveStartConfig({
      boot,
      fetcher,
      ...(who !== undefined ? { as: who } : {}),
      pickSelf: (cfg) => resolveSelf(cfg, who),
      openState: openStateOrExplain,
      now: () => realClock.now(),
    });
  } catch (err) {
    if (err instanceof ConfigSourceError) throw new CliError(err.code === 'NO_DATABASE_NO_COPY' ? EXIT.NO_ANSWER : EXIT.USAGE, `${path}: ${err.message}`);
    return explainConfigError(err);
  }
  const v = r.version;
  const fromDb = r.info.kind === 'database';
  return {
    cfg: r.config,
    party: r.party,
    state: r.state,
    source: `${path} + site config version ${v.version}`,
    describe: fromDb ? `database: version ${v.version} (${r.info.origin})` : `LOCAL COPY of version ${v.version} (${r.info.reason ?? 'database unreachable'})`,
    makeSource: (logger) => {
      if (fromDb) {
        logger.info(
          { event: 'config_from_database', phase: 'start', version: v.version, node: r.info.origin, pushedBy: v.pushedBy, pushedAt: new Date(v.pushedAtMs).toISOString(), skipped: r.skipped },
          `site config version ${v.version} read from the database (${r.info.origin})`,
        );
      } else {
        logger.warn(
          { event: 'config_from_local_copy', phase: 'start', version: v.version, reason: r.info.reason, attempts: r.skipped, stateFile: r.state.path },
          `RUNNING ON THE LOCAL COPY of site config version ${v.version}: ${r.info.reason}`,
        );
      }
      return new ConfigSource({ self: r.party.id as PartyId, config: r.config, info: r.info, clock: realClock, logger, database: { boot, fetcher, state: r.state, version: v } });
    },
  };
}

export async function runParty(opts: RunOptions): Promise<{ stop(): Promise<void>; done: Promise<number> }> {
  if ((opts.config === undefined) === (opts.bootstrap === undefined)) {
    throw new CliError(EXIT.USAGE, 'give either --config FILE (the whole site config in a file) or --bootstrap FILE (the site config from the database)');
  }
  const loaded = opts.bootstrap !== undefined ? await loadFromDatabase(opts.bootstrap, opts.as) : loadFromFile(opts.config as string, opts.as);
  const { cfg, party } = loaded;
  const self = party.id as PartyId;
  let keyring: Keyring;
  try {
    keyring = loadKeyring(cfg, loaded.source);
    checkSecretFiles(cfg, party, loaded.source);
  } catch (err) {
    loaded.state?.close();
    return explainConfigError(err);
  }
  const logger: Logger = createLogger({ name: self, ...(opts.logLevel ? { level: opts.logLevel } : {}) });
  const state = loaded.state ?? openStateOrExplain(stateFileOf(cfg, self));
  const source = loaded.makeSource(logger);
  const incarnation = state.nextIncarnation();
  let transport: UdpTransport;
  try {
    transport = await UdpTransport.bind(party.host, party.port);
  } catch (err) {
    source.stop();
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
    // Read at each use, so that a config applied while running reaches the post office: a new
    // party is accepted and sent to at once; staleness and skew limits apply at once, the ack
    // timeout to peers first met afterwards.
    directory: (id) => source.directory(id),
    get ackTimeoutMs() {
      return source.current().timings.ackTimeout;
    },
    get staleAfterMs() {
      return source.current().timings.staleAfter;
    },
    get maxClockSkewMs() {
      return source.current().timings.maxClockSkew;
    },
    logger,
  });
  const type = (parsePartyId(self) as { type: 'arbitrator' | 'dbserver' | 'dbclient' }).type;
  // HTTP (metrics, health, the arbitrator's API) only for a party with an `http` block: the
  // module and prom-client are not even loaded otherwise.
  let web: PartyHttp | null = null;
  if (party.http) {
    try {
      const { preparePartyHttp } = await import('../http/party-http.js');
      web = preparePartyHttp({ self, party, config: () => source.current(), post, logger, now: () => monotonicOf(realClock), wall: () => realClock.now(), incarnation });
    } catch (err) {
      source.stop();
      await post.close();
      state.close();
      throw new CliError(EXIT.USAGE, `${self}.http: ${(err as Error).message}`);
    }
  }
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((r) => (resolveDone = r));
  let stopping = false;
  let exitCode: number = EXIT.OK;
  let fatalBeforeStart: { exitCode: number; message: string } | null = null;
  let role: RunningRole | undefined;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    source.stop();
    await web?.close();
    await role?.stop();
    const stats = post.stats();
    await post.close();
    state.close();
    logger.info({ event: 'stopped', exitCode, accepted: stats.accepted, sent: stats.sent, resent: stats.resent, drops: stats.drops, roleErrors: stats.roleErrors }, `${self} stopped`);
    resolveDone(exitCode);
  };
  const fatal = (code: number, message: string) => {
    if (stopping) return;
    exitCode = code;
    logger.fatal({ event: 'party_failed', exitCode: code, reason: message }, `${self} stops: ${message}`);
    if (role === undefined) fatalBeforeStart = { exitCode: code, message };
    else void stop();
  };
  try {
    role = await (await roleStarter(type))({
      self,
      party,
      get config() {
        return source.current();
      },
      post,
      clock: realClock,
      state,
      logger,
      configSource: loaded.describe,
      liveConfig: source,
      fatal,
      ...(web ? { tap: web.tap } : {}),
    });
  } catch (err) {
    source.stop();
    await post.close();
    state.close();
    throw err;
  }
  if (web) {
    try {
      const at = await web.listen();
      logger.info(
        { event: 'http_listening', address: `${at.host}:${at.port}`, token: party.http && 'tokenFile' in party.http && party.http.tokenFile !== undefined },
        `serving HTTP on ${at.host}:${at.port} (read-only)`,
      );
    } catch (err) {
      source.stop();
      await role.stop();
      await post.close();
      state.close();
      throw new CliError(EXIT.NETWORK, (err as Error).message);
    }
  }
  logger.info(
    {
      event: 'started',
      role: type,
      site: cfg.site,
      incarnation,
      listen: `${transport.local.address}:${transport.local.port}`,
      keyIds: keyring.ids(),
      config: { kind: source.info().kind, version: source.info().version },
    },
    `${self} started: ${role.describe()}`,
  );
  // An effect may have failed in the role's first step (its start).
  if (fatalBeforeStart !== null) void stop();
  else source.start();
  return { stop, done };
}
