import type {
  ClientStatusReport,
  DatadirReport,
  DbStatusReport,
  DecisionOutcome,
  Directives,
  HookHealthReport,
  LbServer,
  MakePrimary,
  Member,
  PrimaryView,
  RecoveredPosition,
  ViewRef,
  WsrepNotify,
  WsrepStatus,
} from './verbs.js';

/**
 * Hand-written checks for the bodies of the verbs every party receives all the time
 * (db_status_report, client_status_report, make_primary, directives, wsrep_notify, ack). The
 * zod schemas in verbs.ts stay the definition: zod cost more than msgpack decoding and both HMACs
 * together on the receive path (~3 µs of ~20 µs for a db_status_report).
 *
 * The contract is one-sided, so these never need to be cleverer than the schema: a check either
 * returns exactly what the schema's parse would return (a fresh copy with only the schema's
 * keys), or FAIL, meaning "not sure" — and then the caller runs the zod schema, which decides and
 * words the reason. A check is allowed to FAIL on valid input it finds awkward (a string whose
 * UTF-16 length is over the limit may still fit in code points, which zod counts), never to pass
 * invalid input. test/unit/fast-bodies.test.ts holds each check to its schema on valid, mutated
 * and random bodies.
 */
export const FAIL: unique symbol = Symbol('fail');
type Out<T> = T | typeof FAIL;

/** The same pattern as verbs.ts's partyName (no g flag: test() keeps no state). */
const PARTY_NAME = /^[a-z_]+:[1-9][0-9]{0,5}$/;

type Obj = Record<string, unknown>;
function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
/** UTF-16 length within the limit: then the code-point length (zod's measure) is too. */
function isStr(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max;
}
/** `name` in verbs.ts: 1..64. A non-empty string has at least one code point. */
function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= 64;
}
function isParty(v: unknown): v is string {
  return typeof v === 'string' && PARTY_NAME.test(v);
}
/** z.number().int(): a safe integer (this also rules out NaN, ±Infinity and non-numbers). */
function isInt(v: unknown): v is number {
  return Number.isSafeInteger(v);
}
function isMs(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}
function isSeqno(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= -1;
}
function isBool(v: unknown): v is boolean {
  return typeof v === 'boolean';
}
function isShortText(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 200;
}

function arrayOf<T>(v: unknown, max: number, item: (x: unknown) => Out<T>): Out<T[]> {
  if (!Array.isArray(v) || v.length > max) return FAIL;
  const out: T[] = [];
  for (let i = 0; i < v.length; i++) {
    const x = item(v[i]);
    if (x === FAIL) return FAIL;
    out.push(x);
  }
  return out;
}
function names(v: unknown, max: number): Out<string[]> {
  return arrayOf(v, max, (x) => (isName(x) ? x : FAIL));
}

function member(v: unknown): Out<Member> {
  if (!isObj(v)) return FAIL;
  const { uuid, name, address } = v;
  if (!isName(uuid) || !isStr(name, 64) || !isStr(address, 64)) return FAIL;
  return { uuid, name, address };
}

function primaryView(v: unknown): Out<PrimaryView> {
  if (!isObj(v) || !isStr(v.viewId, 100)) return FAIL;
  const members = names(v.members, 64);
  if (members === FAIL) return FAIL;
  return { viewId: v.viewId, members };
}

const CLUSTER_STATUS = ['Primary', 'non-Primary', 'Disconnected'] as const;
function wsrepStatus(v: unknown): Out<WsrepStatus> {
  if (!isObj(v)) return FAIL;
  const { clusterStatus, localState, ready, connected, clusterSize, stateUuid, confId, lastCommitted, nodeUuid } = v;
  if (clusterStatus !== 'Primary' && clusterStatus !== 'non-Primary' && clusterStatus !== 'Disconnected') return FAIL;
  if (!isStr(localState, 32) || !isBool(ready) || !isBool(connected)) return FAIL;
  if (!isInt(clusterSize) || clusterSize < 0 || clusterSize > 1000) return FAIL;
  if (!isStr(stateUuid, 64) || (confId !== null && !isMs(confId)) || !isSeqno(lastCommitted) || !isStr(nodeUuid, 64)) return FAIL;
  const members = arrayOf(v.members, 64, member);
  if (members === FAIL) return FAIL;
  const lastPrimary = v.lastPrimary === null ? null : primaryView(v.lastPrimary);
  if (lastPrimary === FAIL) return FAIL;
  return { clusterStatus: clusterStatus as (typeof CLUSTER_STATUS)[number], localState, ready, connected, clusterSize, stateUuid, confId, lastCommitted, nodeUuid, members, lastPrimary };
}

function recovered(v: unknown): Out<RecoveredPosition> {
  if (!isObj(v)) return FAIL;
  const { uuid, seqno, safeToBootstrap } = v;
  if (!isStr(uuid, 64) || !isSeqno(seqno) || !isBool(safeToBootstrap)) return FAIL;
  return { uuid, seqno, safeToBootstrap };
}

function decisionOutcome(v: unknown): Out<DecisionOutcome> {
  if (!isObj(v)) return FAIL;
  const { id, outcome, reason, at } = v;
  if (!isName(id) || !isShortText(reason) || !isMs(at)) return FAIL;
  if (outcome !== 'pending' && outcome !== 'carried_out' && outcome !== 'refused' && outcome !== 'failed') return FAIL;
  return { id, outcome, reason, at };
}

const DATADIR_STATES = ['ok', 'empty', 'no_grastate', 'unreadable', 'malformed'] as const;
function datadir(v: unknown): Out<DatadirReport> {
  if (!isObj(v)) return FAIL;
  const { state, detail, myUuid, recoverNote } = v;
  if (typeof state !== 'string' || !(DATADIR_STATES as readonly string[]).includes(state)) return FAIL;
  if ((detail !== null && !isShortText(detail)) || (myUuid !== null && !isStr(myUuid, 64)) || (recoverNote !== null && !isShortText(recoverNote))) return FAIL;
  const lastView = v.lastView === null ? null : primaryView(v.lastView);
  if (lastView === FAIL) return FAIL;
  let recovered: DatadirReport['recovered'] = null;
  if (v.recovered !== null) {
    if (!isObj(v.recovered) || !isStr(v.recovered.uuid, 64) || !isSeqno(v.recovered.seqno)) return FAIL;
    recovered = { uuid: v.recovered.uuid, seqno: v.recovered.seqno };
  }
  const out: DatadirReport = { state: state as DatadirReport['state'], detail, myUuid, lastView, recovered, recoverNote };
  if (!Object.hasOwn(v, 'process')) return out;
  if (v.process !== null && !isShortText(v.process)) return FAIL;
  return { ...out, process: v.process };
}

export function fastDbStatusReport(v: unknown): Out<DbStatusReport> {
  if (!isObj(v)) return FAIL;
  const { observedAt, dc, mariadb, error } = v;
  if (!isMs(observedAt) || !isName(dc) || (mariadb !== 'up' && mariadb !== 'down') || (error !== null && !isShortText(error))) return FAIL;
  const wsrep = v.wsrep === null ? null : wsrepStatus(v.wsrep);
  if (wsrep === FAIL) return FAIL;
  const rec = v.recovered === null ? null : recovered(v.recovered);
  if (rec === FAIL) return FAIL;
  const decision = v.decision === null ? null : decisionOutcome(v.decision);
  if (decision === FAIL) return FAIL;
  const out: DbStatusReport = { observedAt, dc, mariadb, wsrep, recovered: rec, decision, error };
  // Optional keys (absent from older dbservers): zod leaves an absent key out and keeps one given
  // as undefined, and so does this.
  if (Object.hasOwn(v, 'hook')) {
    if (v.hook === undefined) out.hook = undefined;
    else {
      const hook = hookHealth(v.hook);
      if (hook === FAIL) return FAIL;
      out.hook = hook;
    }
  }
  if (Object.hasOwn(v, 'datadir')) {
    const dd = datadir(v.datadir);
    if (dd === FAIL) return FAIL;
    out.datadir = dd;
  }
  return out;
}

const HOOK_STATES: ReadonlyArray<HookHealthReport['state']> = ['unknown', 'none', 'waiting', 'heard', 'missing'];

function hookHealth(v: unknown): Out<HookHealthReport> {
  if (!isObj(v)) return FAIL;
  const { state, lastPushAt, pushes, text } = v;
  if (!HOOK_STATES.includes(state as HookHealthReport['state']) || (lastPushAt !== null && !isMs(lastPushAt)) || !isMs(pushes) || !isShortText(text)) return FAIL;
  return { state: state as HookHealthReport['state'], lastPushAt, pushes, text };
}

function viewRef(v: unknown): Out<ViewRef> {
  if (!isObj(v)) return FAIL;
  const { stateUuid, lastPrimaryViewId } = v;
  if (!isStr(stateUuid, 64) || (lastPrimaryViewId !== null && !isStr(lastPrimaryViewId, 100))) return FAIL;
  const members = names(v.members, 64);
  if (members === FAIL) return FAIL;
  return { stateUuid, members, lastPrimaryViewId };
}

export function fastMakePrimary(v: unknown): Out<MakePrimary> {
  if (!isObj(v)) return FAIL;
  const { decisionId, forced, reason, validForMs } = v;
  if (!isName(decisionId) || !isBool(forced) || !isShortText(reason) || !isMs(validForMs)) return FAIL;
  const view = viewRef(v.view);
  if (view === FAIL) return FAIL;
  return { decisionId, view, forced, reason, validForMs };
}

export function fastDirectives(v: unknown): Out<Directives> {
  if (!isObj(v)) return FAIL;
  const { epoch, paused, writer } = v;
  if (!isMs(epoch) || !isBool(paused) || (writer !== null && !isParty(writer))) return FAIL;
  const drained = arrayOf(v.drained, 64, (x) => (isParty(x) ? x : FAIL));
  if (drained === FAIL) return FAIL;
  return { epoch, drained, paused, writer };
}

function lbServer(v: unknown): Out<LbServer> {
  if (!isObj(v)) return FAIL;
  const { server, backend, state, operational, weight, sessions } = v;
  if (!isParty(server) || (backend !== 'write' && backend !== 'read')) return FAIL;
  if (state !== 'ready' && state !== 'drain' && state !== 'maint' && state !== 'unknown') return FAIL;
  if (!isBool(operational) || !isInt(weight) || weight < 0 || weight > 256 || !isMs(sessions)) return FAIL;
  return { server, backend, state, operational, weight, sessions };
}

export function fastClientStatusReport(v: unknown): Out<ClientStatusReport> {
  if (!isObj(v)) return FAIL;
  const { observedAt, epochApplied, lb, writer } = v;
  if (!isMs(observedAt) || !isMs(epochApplied) || (writer !== null && !isParty(writer)) || !isObj(lb)) return FAIL;
  const { kind, reachable, error } = lb;
  if ((kind !== 'haproxy' && kind !== 'glb') || !isBool(reachable) || (error !== null && !isShortText(error))) return FAIL;
  const servers = arrayOf(v.servers, 128, lbServer);
  if (servers === FAIL) return FAIL;
  return { observedAt, epochApplied, lb: { kind, reachable, error }, writer, servers };
}

export function fastWsrepNotify(v: unknown): Out<WsrepNotify> {
  if (!isObj(v)) return FAIL;
  const { status, uuid, primary, index } = v;
  if (!isStr(status, 32) || (uuid !== null && !isStr(uuid, 64)) || (primary !== null && !isBool(primary))) return FAIL;
  if (index !== null && !(isInt(index) && index >= -1)) return FAIL;
  const members = v.members === null ? null : arrayOf(v.members, 64, member);
  if (members === FAIL) return FAIL;
  const argv = arrayOf(v.argv, 32, (x) => (isStr(x, 4096) ? x : FAIL));
  if (argv === FAIL) return FAIL;
  return { status, uuid, primary, index, members, argv };
}

export function fastAck(v: unknown): Out<{ verb: string; inc: number; id: number }> {
  if (!isObj(v)) return FAIL;
  const { verb, inc, id } = v;
  if (!isName(verb) || !isMs(inc) || !isMs(id)) return FAIL;
  return { verb, inc, id };
}
