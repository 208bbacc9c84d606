import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../correspondents/clock.js';
import type { PostOffice } from '../../correspondents/post-office.js';
import { isPartyId, type PartyId } from '../../protocol/party.js';
import { directives as directivesSchema } from '../../protocol/verbs.js';
import type { DbclientParty, SiteConfig } from '../../site/schema.js';
import type { RoleCore } from '../core.js';
import { type Durable, type EffectExecutor, type RoleFailure, RoleHost, type StepTap } from '../host.js';
import { dbclientConfigOf } from './config-of.js';
import { dbclientCore, type DbclientConfig, type DbclientEffect, type DbclientEvent, type DbclientPersisted, type DbclientState, initialState, PERSIST_DIRECTIVES, PERSIST_WRITER } from './core.js';

/** The dbclient's core as a binding runs it (the simulator wraps it: guards, mutants). */
export type DbclientRoleCore = RoleCore<DbclientState, DbclientEvent, DbclientEffect>;

/**
 * What the dbclient's binding needs from where it runs: `minder run` gives it the UDP post office,
 * the real clock, the party's SQLite file and the load-balancer adapter; the simulator gives it
 * its own, and the same code does the rest (issue 15 part 1: settings from the config, the
 * persisted state read back and checked, the core in a RoleHost, the parties it watches, a new
 * host on a config change).
 */
export interface DbclientBindingOptions {
  config: SiteConfig;
  party: DbclientParty;
  post: PostOffice;
  clock: Clock;
  durable: Durable;
  /** Reads a persisted key back (undefined: never written). */
  read: (key: string) => unknown;
  logger: Logger;
  /**
   * The load balancer's executor for one host. `live()` turns false once that host was replaced
   * (config change) or stopped: an answer for it then goes nowhere.
   */
  executor: (live: () => boolean) => EffectExecutor<DbclientEffect>;
  /** Wraps the core built from `cfg` (the simulator: its guard, and broken variants for the checks' own tests). */
  wrap?: (core: DbclientRoleCore, cfg: DbclientConfig) => DbclientRoleCore;
  onFatal?: (failure: RoleFailure) => void;
  tap?: StepTap;
}

export interface DbclientBinding {
  readonly current: DbclientState;
  readonly config: DbclientConfig;
  readonly party: DbclientParty;
  /**
   * A new core and host built from `next`, the state carried over. Throws, changing nothing, when
   * `next` does not make a dbclient config; `swap` runs between the old host's stop and the new
   * one's start (the daemon changes its load-balancer adapter there).
   */
  reconfigure(next: SiteConfig, party: DbclientParty, changes: readonly string[], swap?: () => void): void;
  stop(): void;
}

const partyName = z.string().refine(isPartyId, 'not a party name');
const persistedWriter = z.object({ writer: partyName.nullable(), retiring: z.array(partyName) });
const persistedDirectives = z.object({ body: directivesSchema, receivedAt: z.number().int().nonnegative(), from: partyName.optional() });

/** What a previous run left in the state file; anything that does not fit is set aside, loudly. */
export function loadDbclientPersisted(read: (key: string) => unknown, logger: Logger): DbclientPersisted {
  const out: DbclientPersisted = {};
  const w = persistedWriter.safeParse(read(PERSIST_WRITER) ?? null);
  if (w.success) out.writer = w.data as DbclientPersisted['writer'];
  else if (read(PERSIST_WRITER) !== undefined) logger.warn({ event: 'state_ignored', key: PERSIST_WRITER }, 'stored writer is malformed; starting without it');
  const d = persistedDirectives.safeParse(read(PERSIST_DIRECTIVES) ?? null);
  if (d.success) out.directives = d.data;
  else if (read(PERSIST_DIRECTIVES) !== undefined) logger.warn({ event: 'state_ignored', key: PERSIST_DIRECTIVES }, 'stored directives are malformed; starting without them');
  return out;
}

/** The parties a dbclient hears from: every arbitrator of the site and every dbserver. */
function watched(cfg: DbclientConfig): PartyId[] {
  return [...(cfg.arbitrators ?? [cfg.arbitrator]), ...cfg.servers.map((s) => s.id)];
}

export function bindDbclient(o: DbclientBindingOptions): DbclientBinding {
  let cfg = dbclientConfigOf(o.config, o.party);
  let party = o.party;
  let generation = 0;
  let stopped = false;
  const wrap = o.wrap ?? ((c: DbclientRoleCore) => c);

  const makeHost = (initial: DbclientState): RoleHost<DbclientState, DbclientEvent, DbclientEffect> => {
    const mine = ++generation;
    return new RoleHost<DbclientState, DbclientEvent, DbclientEffect>({
      core: wrap(dbclientCore(cfg), cfg),
      initial,
      post: o.post,
      clock: o.clock,
      durable: o.durable,
      logger: o.logger,
      ...(o.onFatal ? { onFatal: o.onFatal } : {}),
      ...(o.tap ? { tap: o.tap } : {}),
      execute: o.executor(() => !stopped && generation === mine),
    });
  };

  let host = makeHost(initialState(loadDbclientPersisted(o.read, o.logger)));
  o.post.watch(watched(cfg));
  host.start();

  return {
    get current() {
      return host.current;
    },
    get config() {
      return cfg;
    },
    get party() {
      return party;
    },
    reconfigure(next, nextParty, changes, swap) {
      if (stopped) return;
      const nextCfg = dbclientConfigOf(next, nextParty);
      const carried = host.current;
      host.stop();
      swap?.();
      party = nextParty;
      cfg = nextCfg;
      o.post.watch(watched(cfg));
      host = makeHost(carried);
      host.dispatch({ kind: 'reconfigured', changes: [...changes] });
    },
    stop() {
      stopped = true;
      host.stop();
    },
  };
}
