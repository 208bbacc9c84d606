import type { PartyId } from '../../protocol/party.js';
import type { StartMariadb } from '../../protocol/verbs.js';
import { known, type DbserverStep } from './core.js';
import type { Reading } from './reading.js';

/**
 * The dbserver's side of a cold start (docs/cold-start.md): a `start_mariadb` order from the
 * arbitrator is judged on a reading taken after it arrived, then carried out once. A bootstrap
 * runs only while mariadbd is down and the datadir holds exactly the position the arbitrator
 * chose this node for; the order is recorded as begun (durably) before its command runs, and an
 * order found begun at start-up is concluded failed, never resumed — as for make_primary.
 */
export interface PendingStart {
  order: StartMariadb;
  from: PartyId;
  receivedAt: number;
  phase: 'checking' | 'starting';
  /** Readings with seq below this were begun before the order arrived. */
  minSeq: number;
}

/** A bootstrap this node ran: never a second one from the same position under another decision. */
export interface BootstrapDone {
  decisionId: string;
  stateUuid: string;
  seqno: number;
  at: number;
}

/** Where this node's datadir stands: grastate.dat's seqno, or --wsrep-recover's after a crash. */
export function positionOf(r: Reading): { uuid: string; seqno: number } | null {
  const g = r.recovered;
  if (!g) return null;
  if (g.seqno >= 0) return { uuid: g.uuid, seqno: g.seqno };
  const rec = r.datadir?.recovered;
  return rec ? { uuid: rec.uuid, seqno: rec.seqno } : null;
}

function expiresAt(st: DbserverStep, o: StartMariadb): number {
  return o.decidedAt + o.validForMs + st.cfg.maxClockSkewMs;
}

export function onStartMariadb(st: DbserverStep, from: PartyId, o: StartMariadb): void {
  const seen = known(st.s, o.decisionId);
  if (seen !== undefined) {
    const outcome = seen === 'pending' ? 'pending' : seen.outcome;
    st.log('info', 'start_order_ignored', `start_mariadb ${o.decisionId} ignored: already ${outcome}`, { decisionId: o.decisionId });
    st.report(true);
    return;
  }
  const busy = st.s.pending?.decision.decisionId ?? st.s.pendingStart?.order.decisionId;
  if (busy !== undefined) {
    st.conclude('refused', 'busy', `busy with decision ${busy}`, o.decisionId, { from }, 'start_mariadb');
    return;
  }
  if (st.now > expiresAt(st, o)) {
    st.conclude(
      'refused',
      'expired',
      `expired: decided ${new Date(o.decidedAt).toISOString()}, valid ${o.validForMs} ms (+ ${st.cfg.maxClockSkewMs} ms clock skew)`,
      o.decisionId,
      { from },
      'start_mariadb',
    );
    return;
  }
  st.s = { ...st.s, pendingStart: { order: o, from, receivedAt: st.now, phase: 'checking', minSeq: st.s.nextSeq } };
  st.persistStart();
  st.log(o.mode === 'bootstrap' ? 'warn' : 'info', 'start_order_received', `start_mariadb ${o.decisionId} (${o.mode}) from ${from}; checking on a fresh reading`, {
    decisionId: o.decisionId,
    mode: o.mode,
    stateUuid: o.stateUuid,
    seqno: o.seqno,
    forced: o.forced,
    arbitratorReason: o.reason,
  });
  st.read('start_order');
}

/** Why a bootstrap from this reading would be wrong, or null when it is exactly the one decided. */
function bootstrapProblem(st: DbserverStep, o: StartMariadb, r: Reading): string | null {
  const dd = r.datadir;
  if (!dd) return 'the datadir was not inspected';
  if (dd.state !== 'ok') return `the datadir is ${dd.state}${dd.detail ? ` (${dd.detail})` : ''}`;
  const pos = positionOf(r);
  if (r.recovered && r.recovered.uuid !== o.stateUuid) return `the datadir belongs to cluster ${r.recovered.uuid}, not ${o.stateUuid}`;
  if (!pos && !o.forced) return `no position known (grastate seqno -1${dd.recoverNote ? `; ${dd.recoverNote}` : ''})`;
  if (pos && pos.seqno !== o.seqno) return `the datadir is at seqno ${pos.seqno}, the decision chose seqno ${o.seqno}: it changed since`;
  const again = st.s.bootstraps.find((b) => b.stateUuid === o.stateUuid && b.seqno === o.seqno && b.decisionId !== o.decisionId);
  if (again) return `already bootstrapped from ${o.stateUuid}:${o.seqno} for ${again.decisionId}`;
  return null;
}

export function judgeStartOrder(st: DbserverStep, r: Reading): void {
  const p = st.s.pendingStart;
  if (!p || p.phase !== 'checking' || r.seq < p.minSeq) return;
  const o = p.order;
  if (st.now > expiresAt(st, o)) {
    st.conclude('refused', 'expired', 'expired before a fresh reading', o.decisionId, {}, 'start_mariadb');
    return;
  }
  if (r.mariadb === 'down' && r.datadir?.process) {
    st.conclude('refused', 'mariadbd_running', `a mariadbd process runs (${r.datadir.process})`, o.decisionId, {}, 'start_mariadb');
    return;
  }
  if (r.mariadb === 'up') {
    st.conclude('refused', 'mariadbd_running', `mariadbd is running${r.wsrep ? ` (${r.wsrep.clusterStatus}/${r.wsrep.localState})` : ''}`, o.decisionId, {}, 'start_mariadb');
    return;
  }
  if (o.mode === 'bootstrap') {
    const problem = bootstrapProblem(st, o, r);
    if (problem) {
      st.conclude('refused', 'start_refused', problem, o.decisionId, { mode: o.mode }, 'start_mariadb');
      return;
    }
    st.s = { ...st.s, bootstraps: [...st.s.bootstraps, { decisionId: o.decisionId, stateUuid: o.stateUuid, seqno: o.seqno, at: st.now }].slice(-64) };
  }
  st.s = { ...st.s, pendingStart: { ...p, phase: 'starting' } };
  // Durable before the command: a restart from here concludes it failed, never runs it again.
  st.persistStart();
  st.log(
    'warn',
    o.mode === 'bootstrap' ? 'bootstrap_mariadb' : 'start_mariadb',
    `${o.mode === 'bootstrap' ? 'bootstrapping a new primary component from this node' : 'starting mariadbd'} for ${o.decisionId}`,
    {
      decisionId: o.decisionId,
      mode: o.mode,
      stateUuid: o.stateUuid,
      seqno: o.seqno,
    },
  );
  st.effects.push({ kind: 'start_mariadb', decisionId: o.decisionId, mode: o.mode });
  st.report(false);
}

export function onStartDone(st: DbserverStep, e: { decisionId: string; ok: boolean; error: string | null }): void {
  const p = st.s.pendingStart;
  if (!p || p.order.decisionId !== e.decisionId || p.phase !== 'starting') {
    st.log('debug', 'start_result_ignored', `start result for ${e.decisionId} no longer awaited`);
    return;
  }
  if (e.ok) st.conclude('carried_out', 'started', `${p.order.mode} command succeeded`, e.decisionId, { mode: p.order.mode }, 'start_mariadb');
  else st.conclude('failed', 'start_failed', `${p.order.mode} command failed: ${e.error ?? 'unknown error'}`, e.decisionId, { mode: p.order.mode }, 'start_mariadb');
  st.read('start_done');
}

/** At start-up: an order that was begun may or may not have run its command; never resumed. */
export function startOrderAtStart(st: DbserverStep): void {
  const p = st.s.pendingStart;
  if (!p) return;
  if (p.phase === 'checking') st.conclude('refused', 'restarted', 'the dbserver restarted before it was checked; not resumed', p.order.decisionId, {}, 'start_mariadb');
  else st.conclude('failed', 'restarted', `the dbserver restarted while its ${p.order.mode} command ran; not resumed`, p.order.decisionId, {}, 'start_mariadb');
}
