import { LEADER_FENCE_KEY } from '../fence.js';
import { readFileSync } from 'node:fs';
import type { PartyId } from '../../protocol/party.js';
import { partiesOfType } from '../../site/load-config.js';
import type { DbserverParty } from '../../site/schema.js';
import type { RoleContext, RunningRole } from '../context.js';
import { RoleHost } from '../host.js';
import { DEFAULT_TUNING, type DbserverEffect, type DbserverEvent, type DbserverSettings, type DbserverState, dbserverCore, initialState } from './core.js';
import { dbserverRecordProblem, loadDurable } from './durable.js';
import { HookSocket, HookSocketError } from './hook-socket.js';
import { MariadbControl } from './mariadb-control.js';
import { MariadbReader } from './mariadb-reader.js';
import type { Reading } from './reading.js';
import { StatusFileWatch } from './status-file-watch.js';
import { MinderError } from '../../errors.js';

export class DbserverStartError extends MinderError {
  declare readonly code: 'DBSERVER_START';
  constructor(message: string) {
    super('DBSERVER_START', message);
  }
}

function readPassword(path: string): string {
  try {
    // One line; a trailing newline from `echo … > file` is not part of the password.
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new DbserverStartError(`cannot read the mariadb password file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function settingsOf(ctx: RoleContext): DbserverSettings {
  const party = ctx.party as DbserverParty;
  const recipients = [...partiesOfType(ctx.config, 'arbitrator'), ...partiesOfType(ctx.config, 'dbclient')].map((p) => p.id as PartyId);
  return {
    self: ctx.self,
    dc: party.dc,
    recipients,
    reportIntervalMs: ctx.config.timings.reportInterval,
    ...DEFAULT_TUNING,
    maxClockSkewMs: ctx.config.timings.maxClockSkew,
    fenced: ctx.config.arbitrator.store === 'etcd',
  };
}

/**
 * The dbserver daemon: the pure core (core.ts) driven by RoleHost, with mariadbd and the datadir
 * behind `read_status` and `bootstrap` effects.
 */
export async function startDbserver(ctx: RoleContext): Promise<RunningRole> {
  const party = ctx.party as DbserverParty;
  const m = party.mariadb;
  const reader = new MariadbReader({
    ...(m.host !== undefined ? { host: m.host } : {}),
    ...(m.socket !== undefined ? { socket: m.socket } : {}),
    port: m.port,
    user: m.user,
    password: readPassword(m.passwordFile),
    datadir: m.datadir,
  });
  const c = party.control;
  const control = new MariadbControl(
    { datadir: m.datadir, pidFile: c.pidFile },
    { start: c.start, bootstrap: c.bootstrap, stop: c.stop, recover: c.recover, timeoutMs: c.timeout, recoverTimeoutMs: c.recoverTimeout, editGrastate: c.editGrastate },
    ctx.logger,
  );
  // While mariadbd is down the datadir is the only witness: every down reading carries it.
  const withDatadir = (r: Reading): Reading => {
    if (r.mariadb !== 'down') return r;
    const facts = control.inspect();
    return { ...r, recovered: facts.grastate ?? r.recovered, datadir: facts.report };
  };
  let settings = settingsOf(ctx);
  const durable = loadDurable(
    (key) => ctx.state.get<unknown>(key),
    (key, msg) => ctx.logger.warn({ event: 'state_entry_dropped', key }, msg),
  );
  const { decisions, pending } = durable;
  let stopped = false;
  // Results of I/O go to whichever host runs now: a config change replaces the host mid-flight.
  const dispatch = (ev: DbserverEvent) => host.dispatch(ev);
  const makeHost = (initial: DbserverState) =>
    new RoleHost<DbserverState, DbserverEvent, DbserverEffect>({
      core: dbserverCore(settings),
      initial,
      post: ctx.post,
      clock: ctx.clock,
      durable: ctx.state,
      logger: ctx.logger,
      onFatal: (f) => ctx.fatal?.(f.exitCode, f.message),
      check: dbserverRecordProblem,
      ...(ctx.tap ? { tap: ctx.tap } : {}),
      execute: (effect) => {
        switch (effect.kind) {
          case 'read_status': {
            const at = ctx.clock.now();
            void reader.read(effect.seq, at).then((reading) => dispatch({ kind: 'observed', reading: withDatadir(reading) }));
            return;
          }
          case 'start_mariadb':
            void control.startMariadb(effect.mode).then((error) => dispatch({ kind: 'start_done', decisionId: effect.decisionId, ok: error === null, error }));
            return;
          case 'bootstrap':
            void reader.bootstrap().then((error) => dispatch({ kind: 'bootstrap_done', decisionId: effect.decisionId, attempt: effect.attempt, ok: error === null, error }));
            return;
        }
      },
    });
  const leaderFence = ctx.state.get<unknown>(LEADER_FENCE_KEY);
  let host = makeHost({ ...initialState(decisions, pending, durable.extras), fence: Number.isSafeInteger(leaderFence) && (leaderFence as number) > 0 ? (leaderFence as number) : 0 });
  // A finished --wsrep-recover is news for the arbitrator: read (and report) at once.
  control.onChange = () => dispatch({ kind: 'datadir_changed' });
  reader.onLost = () => dispatch({ kind: 'connection_lost' });
  const statusFile = new StatusFileWatch(() => dispatch({ kind: 'status_file_changed' }), ctx.logger);
  reader.onStatusFile = (path) => {
    if (!stopped) statusFile.set(path);
  };
  reader.onNotifyCmd = (cmd) => dispatch({ kind: 'notify_cmd', cmd });
  host.start();
  let hookSocket: HookSocket | null = null;
  try {
    hookSocket = await HookSocket.listen({ path: party.hookSocket, groupOf: m.datadir, onNotify: (notify) => dispatch({ kind: 'hook_line', notify }), logger: ctx.logger });
    if (stopped) await hookSocket.close();
    else ctx.logger.info({ event: 'hook_socket_listening', path: party.hookSocket }, `listening for the wsrep_notify_cmd hook on ${party.hookSocket}`);
  } catch (err) {
    if (!(err instanceof HookSocketError)) throw err;
    // Loud, not fatal: the status file, the connection and the interval still report every change.
    ctx.logger.error({ event: 'hook_socket_unavailable', path: party.hookSocket, error: err.message }, `the wsrep_notify_cmd hook cannot reach this dbserver: ${err.message}`);
  }
  const unsubscribe = ctx.liveConfig?.onConfigChange((next, change) => {
    if (stopped) return;
    // The config source refuses changes to this party's own settings (a restart is needed);
    // what reaches here is the rest: timings, data centres, other parties.
    settings = settingsOf({ ...ctx, config: next });
    const carried = host.current;
    host.stop();
    host = makeHost(carried);
    host.dispatch({ kind: 'reconfigured', changes: change.changes });
  });
  return {
    stop: async () => {
      stopped = true;
      unsubscribe?.();
      statusFile.close();
      await hookSocket?.close();
      host.stop();
      await reader.close();
    },
    describe: () => {
      const r = host.current.reading;
      const what = r ? `${r.mariadb}${r.wsrep ? ` ${r.wsrep.clusterStatus}/${r.wsrep.localState} size ${r.wsrep.clusterSize}` : ''}` : 'no reading yet';
      return `${ctx.self} in ${party.dc} watching ${m.socket ?? `${m.host}:${m.port}`} (${what}), reporting to ${settings.recipients.join(', ')}`;
    },
  };
}
