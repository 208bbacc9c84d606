import type { Logger } from 'pino';
import type { Clock } from '../correspondents/clock.js';
import type { PostOffice } from '../correspondents/post-office.js';
import type { PartyId } from '../protocol/party.js';
import type { LiveConfig } from '../site/config-source.js';
import type { Party, SiteConfig } from '../site/schema.js';
import type { LocalState } from '../state/local-state.js';
import type { StepTap } from './host.js';

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
  /**
   * Stops the whole party with this exit code (the role's host already stopped itself): an
   * effect failed, e.g. a persist (EXIT.STATE), and running on would act on a state it did not
   * keep. `minder run` stops and exits; systemd restarts it. Absent in tests and the simulator.
   */
  fatal?: (exitCode: number, message: string) => void;
  /** Set when the party serves HTTP (site config `http`): every RoleHost reports its steps here. */
  tap?: StepTap;
}

export interface RunningRole {
  /** Stops timers and connections; the post office and state file are closed by the caller. */
  stop(): Promise<void>;
  /** A one-line human summary for logs and signals. */
  describe(): string;
}

export type RoleStarter = (ctx: RoleContext) => Promise<RunningRole>;
