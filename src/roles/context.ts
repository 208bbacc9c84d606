import type { Logger } from 'pino';
import type { Clock } from '../correspondents/clock.js';
import type { PostOffice } from '../correspondents/post-office.js';
import type { PartyId } from '../protocol/party.js';
import type { LiveConfig } from '../site/config-source.js';
import type { Party, SiteConfig } from '../site/schema.js';
import type { LocalState } from '../state/local-state.js';

/** What every role gets from `minder run`: its identity, the site, a post office, a clock, its state file. */
export interface RoleContext {
  self: PartyId;
  party: Party;
  config: SiteConfig;
  post: PostOffice;
  clock: Clock;
  state: LocalState;
  logger: Logger;
  /** Where the site config came from (a file path), for status output. */
  configSource?: string;
  /**
   * The config in force and where it came from, live: `info()` says database / local_copy / file,
   * the version and since when (for `status`); `onConfigChange` fires when a newer version was
   * applied while running. `config` above reads `liveConfig.current()` each time it is read.
   */
  liveConfig?: LiveConfig;
}

export interface RunningRole {
  /** Stops timers and connections; the post office and state file are closed by the caller. */
  stop(): Promise<void>;
  /** A one-line human summary for logs and signals. */
  describe(): string;
}

export type RoleStarter = (ctx: RoleContext) => Promise<RunningRole>;
