import { z } from 'zod';
import { arbiterStamp, type CarriedDecision, carriedDecision, type DecisionOutcome, decisionOutcome, makePrimary, startMariadb } from '../../protocol/verbs.js';
import { ARBITER_KEY, BOOTSTRAPS_KEY, CARRIED_KEY, DECISIONS_KEY, type DurableExtras, FENCE_KEY, PENDING_KEY, type PendingDecision, START_KEY } from './core.js';
import type { BootstrapDone, PendingStart } from './start-orders.js';

/**
 * The dbserver's durable records read back, each checked: a damaged entry is dropped (and said
 * through `warn`), never trusted. One reader for the daemon and the simulator, so that what a
 * restarted dbserver remembers is the same in both.
 */
type Get = (key: string) => unknown;
type Warn = (key: string, msg: string) => void;

export interface DbserverDurable {
  decisions: DecisionOutcome[];
  pending: PendingDecision | null;
  extras: DurableExtras;
}

/**
 * The records a restarted dbserver relies on for safety — the decisions it concluded and carried
 * out, the arbitrators it fences — checked before they are written (RoleHostOptions.check): one
 * that would be dropped on reading is never written; the persist fails instead, loudly.
 */
const CHECKED_BEFORE_WRITING: Readonly<Record<string, z.ZodType>> = {
  [DECISIONS_KEY]: z.array(decisionOutcome),
  [CARRIED_KEY]: z.array(carriedDecision),
  [ARBITER_KEY]: arbiterStamp.nullable(),
};

export function dbserverRecordProblem(key: string, value: unknown): string | null {
  const schema = CHECKED_BEFORE_WRITING[key];
  if (!schema) return null;
  const r = schema.safeParse(value);
  if (r.success) return null;
  const i = r.error.issues[0];
  return i ? `${i.path.join('.') || '(the record)'} ${i.message}` : 'invalid';
}

export function loadDurable(get: Get, warn: Warn): DbserverDurable {
  const { decisions, pending } = loadDecisions(get, warn);
  return { decisions, pending, extras: { ...loadStartRecords(get, warn), ...loadExtras(get, warn) } };
}

/** Persisted decisions, checked: a damaged entry is dropped (and said), never trusted. */
function loadDecisions(get: Get, warn: Warn): { decisions: DecisionOutcome[]; pending: PendingDecision | null } {
  const rawList = get(DECISIONS_KEY);
  const decisions: DecisionOutcome[] = [];
  if (Array.isArray(rawList)) {
    for (const d of rawList) {
      const r = decisionOutcome.safeParse(d);
      if (r.success) decisions.push(r.data);
      else warn(DECISIONS_KEY, 'a persisted decision outcome is malformed; dropped');
    }
  }
  const rawPending = get(PENDING_KEY);
  let pending: PendingDecision | null = null;
  if (rawPending !== undefined && rawPending !== null) {
    const p = rawPending as Partial<PendingDecision>;
    const d = makePrimary.safeParse(p.decision);
    if (d.success && typeof p.receivedAt === 'number' && typeof p.attempts === 'number') {
      pending = { ...(p as PendingDecision), decision: d.data };
    } else {
      warn(PENDING_KEY, 'the persisted pending decision is malformed; dropped');
    }
  }
  return { decisions, pending };
}

/** The cold-start order records (start-orders.ts); a damaged one is dropped and said, as above. */
function loadStartRecords(get: Get, warn: Warn): { pendingStart: PendingStart | null; bootstraps: BootstrapDone[] } {
  const raw = get(START_KEY);
  let pendingStart: PendingStart | null = null;
  if (raw !== undefined && raw !== null) {
    const p = raw as Partial<PendingStart>;
    const o = startMariadb.safeParse(p.order);
    if (o.success && typeof p.receivedAt === 'number' && (p.phase === 'checking' || p.phase === 'starting')) pendingStart = { ...(p as PendingStart), order: o.data };
    else warn(START_KEY, 'the persisted start order is malformed; dropped');
  }
  const rawList = get(BOOTSTRAPS_KEY);
  const bootstraps = Array.isArray(rawList)
    ? rawList.filter(
        (b): b is BootstrapDone =>
          typeof b === 'object' &&
          b !== null &&
          typeof (b as BootstrapDone).decisionId === 'string' &&
          typeof (b as BootstrapDone).stateUuid === 'string' &&
          Number.isSafeInteger((b as BootstrapDone).seqno),
      )
    : [];
  return { pendingStart, bootstraps };
}

const arbiterFences = z.record(z.string().max(64), z.object({ incarnation: z.number().int().nonnegative(), generation: z.number().int().nonnegative() }));

/** What the arbitrator re-learns from (carried decisions, the newest arbitrator heard), checked. */
function loadExtras(get: Get, warn: Warn): DurableExtras {
  const carried: CarriedDecision[] = [];
  const raw = get(CARRIED_KEY);
  if (Array.isArray(raw)) {
    for (const c of raw) {
      const r = carriedDecision.safeParse(c);
      if (r.success) carried.push(r.data);
      else warn(CARRIED_KEY, 'a persisted carried-out decision is malformed; dropped');
    }
  }
  const a = arbiterStamp.safeParse(get(ARBITER_KEY));
  const f = arbiterFences.safeParse(get(FENCE_KEY) ?? {});
  if (!f.success) warn(FENCE_KEY, 'the persisted arbitrator fences are malformed; dropped (the next word of each arbitrator sets them again)');
  return { carried, newestArbiter: a.success ? a.data : null, fences: f.success ? f.data : {} };
}
