import { z } from 'zod';
import type { PartyId } from '../../protocol/party.js';
import { OUTCOME_CODES, primaryView, viewRef } from '../../protocol/verbs.js';
import { MinderError } from '../../errors.js';

/**
 * What the arbitrator keeps durably, one SQLite key per record. Every record is the whole
 * current state of its kind (written with `persist` before anything that depends on it is sent)
 * and is checked when read back: a damaged decision record stops the arbitrator rather than
 * letting it forget a promotion it made.
 */
export const RECORD_KEYS = {
  decisions: 'arbitrator.decisions',
  directives: 'arbitrator.directives',
  lastPrimary: 'arbitrator.lastPrimary',
  nodes: 'arbitrator.nodes',
  memory: 'arbitrator.memory',
} as const;

/**
 * Read by LocalState.nextIncarnation: an arbitrator that learns the site has heard a newer
 * incarnation of it (a restored old state file) writes it here, so its next start outgrows it.
 */
export const INCARNATION_FLOOR_KEY = 'meta.incarnationFloor';

const party = z
  .string()
  .regex(/^[a-z_]+:[1-9][0-9]{0,5}$/)
  .transform((x) => x as PartyId);
const ms = z.number().int().nonnegative();

export const decisionRecord = z.object({
  id: z.string().min(1).max(64),
  /** The last primary component the decision spends: one promotion per key (docs/safety.md, rule 4). */
  /** make_primary (a promotion), or a cold-start order: bootstrap, start (docs/cold-start.md). Older records are promotions. */
  kind: z.enum(['make_primary', 'bootstrap', 'start']).default('make_primary'),
  /** The last primary component the decision spends: one promotion per key (DESIGN §3.4). */
  key: z.string().min(1).max(400),
  lastPrimary: primaryView.nullable(),
  view: viewRef,
  /** The parties whose reports showed the view when it was decided. */
  members: z.array(party).max(64),
  target: party,
  forced: z.boolean(),
  operator: z.string().max(64).nullable(),
  requestId: z.string().max(64).nullable(),
  reason: z.string().max(400),
  decidedAt: ms,
  validForMs: ms,
  /** A bootstrap's chosen position (the dbserver checks its datadir still holds it). */
  seqno: z.number().int().min(-1).optional(),
  outcome: z.enum(['pending', 'carried_out', 'refused', 'failed']),
  outcomeReason: z.string().max(200).nullable(),
  outcomeAt: ms.nullable(),
  // Fields below were added later: a record written before them loads with their defaults.
  /** Withdrawn (operator `withdraw`, superseded by a forced promote): {at, by, why}. */
  withdrawn: z
    .object({ at: ms, by: z.string().max(64), why: z.string().max(200) })
    .nullable()
    .default(null),
  /** The target's code for the outcome (verbs.ts OUTCOME_CODES); null while pending or when it gave none. */
  outcomeCode: z.enum(OUTCOME_CODES).nullable().default(null),
  /**
   * decidedAt is the arbitrator's monotonic clock (durations); this is its wall clock at the same
   * moment, sent in make_primary: the dbserver's own wall clock expires it (null: decidedAt).
   */
  decidedAtWall: ms.nullable().default(null),
  /** When the arbitrator stopped sending it (its validity ended): a withdrawal replaced it. */
  expiredAt: ms.nullable().default(null),
  /** Learned from its target's report, not decided by this arbitrator's records (a lost memory, a duplicate). */
  adopted: z.boolean().default(false),
  /**
   * A failed decision's target has since reported non-Primary with its last primary component
   * still the decision's: pc.bootstrap never took effect, so like a refusal it frees the key.
   */
  noEffectAt: ms.nullable().default(null),
  /** More last primary components this (forced) decision spends besides `key` (docs/safety.md, path 5). */
  alsoSpends: z.array(z.string().max(400)).max(64).default([]),
  /** The nodes the operator confirmed lost (`--confirm-lost`). */
  confirmedLost: z.array(party).max(64).default([]),
});
export type DecisionRecord = z.infer<typeof decisionRecord>;

/**
 * Whether this arbitrator may trust its records (docs/safety.md, "The arbitrator loses its
 * memory"). `relearning` from the moment it knows it may have forgotten (a state file with no
 * records, the site having heard a newer incarnation) until every member of the last primary
 * component has reported what it carried out, or the operator's `relearned --force`.
 */
export const memoryRecord = z.object({
  relearning: z.boolean(),
  since: ms.nullable(),
  why: z.string().max(300).nullable(),
  /** The last time it was relearned: how and by whom. */
  relearnedAt: ms.nullable(),
  relearnedBy: z.string().max(300).nullable(),
  /** Decisions these records ever held (never shrinks; pruning does not lower it). */
  generation: z.number().int().nonnegative().default(0),
  /** The highest generation a dbserver reported hearing: above `generation`, these records are an old copy. */
  siteGeneration: z.number().int().nonnegative().default(0),
});
export type MemoryRecord = z.infer<typeof memoryRecord>;

export const directivesRecord = z.object({
  epoch: z.number().int().nonnegative(),
  drained: z.array(party).max(64),
  paused: z.boolean(),
  pausedBy: z.string().max(64).nullable(),
  pausedReason: z.string().max(200).nullable(),
  pausedAt: ms.nullable(),
  writer: party.nullable(),
});
export type DirectivesRecord = z.infer<typeof directivesRecord>;

export const lastPrimaryRecord = z.object({
  stateUuid: z.string().max(64),
  confId: z.number().int().nonnegative().nullable(),
  members: z.array(z.object({ uuid: z.string().max(64), name: z.string().max(64), party: party.nullable() })).max(64),
  seenAt: ms,
});
export type LastPrimaryRecord = z.infer<typeof lastPrimaryRecord>;

/**
 * Galera node uuid → dbserver, learned from reports; weights of absent members come from here:
 * `weight` is the node's real pc.weight as its own report last gave it (null: it could not be
 * read; absent: its dbserver did not report one).
 */
export const nodeSighting = z.object({ party, seenAt: ms, weight: z.number().int().min(0).max(255).nullable().optional() });
export const nodesRecord = z.record(z.string().max(64), nodeSighting);
export type NodeSighting = z.infer<typeof nodeSighting>;
export type NodesRecord = z.infer<typeof nodesRecord>;

export interface ArbitratorRecords {
  decisions: DecisionRecord[];
  directives: DirectivesRecord;
  lastPrimary: LastPrimaryRecord | null;
  nodes: NodesRecord;
  memory: MemoryRecord;
}

export const TRUSTED_MEMORY: MemoryRecord = { relearning: false, since: null, why: null, relearnedAt: null, relearnedBy: null, generation: 0, siteGeneration: 0 };

export const EMPTY_DIRECTIVES: DirectivesRecord = {
  epoch: 0,
  drained: [],
  paused: false,
  pausedBy: null,
  pausedReason: null,
  pausedAt: null,
  writer: null,
};

export function emptyRecords(): ArbitratorRecords {
  return { decisions: [], directives: { ...EMPTY_DIRECTIVES }, lastPrimary: null, nodes: {}, memory: { ...TRUSTED_MEMORY } };
}

/** Past this many decisions the oldest refused ones are pruned; no other is ever dropped (decisions.ts `pruned`), so the list may stay longer. */
export const DECISIONS_PRUNED_ABOVE = 1000;
/** uuids per dbserver kept (a restarted mariadbd gets a new one). */
export const MAX_UUIDS_PER_PARTY = 16;

export class ArbitratorRecordError extends MinderError {
  declare readonly code: 'RECORD_CORRUPT';
  constructor(message: string) {
    super('RECORD_CORRUPT', message);
  }
}

/**
 * Reads and checks every record; absent ones start empty, damaged ones throw. A state with no
 * record at all (a new or deleted file) is not trusted: it starts relearning. A file from before
 * the memory record, with records in it, is trusted as it was.
 */
const RECORD_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  [RECORD_KEYS.decisions]: z.array(decisionRecord),
  [RECORD_KEYS.directives]: directivesRecord,
  [RECORD_KEYS.lastPrimary]: lastPrimaryRecord.nullable(),
  [RECORD_KEYS.nodes]: nodesRecord,
  [RECORD_KEYS.memory]: memoryRecord,
};

/**
 * Checks a record before it is written, with the schema it is read back with: a record that
 * would not load again (the next start would refuse it) is never written. The RoleHost then
 * fails the persist, as if the disk had refused it: the party stops before anything that depends
 * on the record is sent. Keys that are not records pass (the incarnation counter).
 */
export function recordProblem(key: string, value: unknown): string | null {
  const schema = RECORD_SCHEMAS[key];
  if (!schema) return null;
  const r = schema.safeParse(value);
  if (r.success) return null;
  const i = r.error.issues[0];
  return i ? `${i.path.join('.') || '(the record)'} ${i.message}` : 'invalid';
}

export function loadArbitratorRecords(get: (key: string) => unknown, now = 0): ArbitratorRecords {
  const read = <T>(key: string, schema: z.ZodType<T>, dflt: T): T => {
    const raw = get(key);
    if (raw === undefined || raw === null) return dflt;
    const r = schema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new ArbitratorRecordError(
        `the arbitrator's record ${key} is damaged (${i ? `${i.path.join('.')} ${i.message}` : 'invalid'}); refusing to start without it, since it may hold a promotion already made`,
      );
    }
    return r.data;
  };
  const blank = Object.values(RECORD_KEYS).every((k) => get(k) === undefined || get(k) === null);
  const forgotten: MemoryRecord = { ...TRUSTED_MEMORY, relearning: true, since: now, why: 'the state file holds no records (new, deleted or replaced): what was decided before is not known here' };
  return {
    decisions: read(RECORD_KEYS.decisions, z.array(decisionRecord), []),
    directives: read(RECORD_KEYS.directives, directivesRecord, { ...EMPTY_DIRECTIVES }),
    lastPrimary: read(RECORD_KEYS.lastPrimary, lastPrimaryRecord.nullable(), null),
    nodes: read(RECORD_KEYS.nodes, nodesRecord, {}),
    memory: blank ? forgotten : read(RECORD_KEYS.memory, memoryRecord, { ...TRUSTED_MEMORY }),
  };
}

export function isParty(s: string): s is PartyId {
  return party.safeParse(s).success;
}
