import { spends } from '../decisions.js';
import type { DecisionRecord } from '../records.js';

/**
 * Which decisions take a last-primary-component slot in the store, and what a write of the
 * decision list must find there (docs/arbitrator-ha.md). Pure: the etcd store builds its
 * transaction from it, the simulator's model of the store applies the same plan.
 *
 * A slot belongs to one key (a LastPC, or a cold start's history): a promotion (make_primary)
 * or a bootstrap order takes it. A new one is written only if the slot is absent, or holds the
 * newest decision for that key that no longer spends it (refused, or failed without effect); anything else
 * in the store — a decision another leader made meanwhile, one not refused — fails the write.
 * Start orders (cold start: the nodes that join a bootstrapped one, or a pc.recovery round)
 * promote nothing and come several to a key: they take no slot.
 */
export function takesSlot(d: DecisionRecord): boolean {
  return d.kind !== 'start';
}

/** A decision that no longer spends its keys (decisions.ts `spends`: refused, or failed without effect). */
export function freesKey(d: DecisionRecord): boolean {
  return !spends(d);
}

/** Every key a decision spends: its own, and for a forced promote the components it supersedes. */
export function keysOf(d: DecisionRecord): string[] {
  return [d.key, ...(d.alsoSpends ?? [])];
}

export interface DecisionWritePlan {
  /** Per key: the slot must be absent (null) or hold exactly this decision id. */
  compares: Array<{ key: string; holder: string | null }>;
  /** Per key: the slot's new holder. */
  slotPuts: Array<{ key: string; id: string }>;
  /** Decision records that are new or changed, as JSON. */
  puts: Array<{ id: string; json: string }>;
  /** Decision ids no longer in the list (pruned). */
  deletes: string[];
}

/**
 * What writing `ds` (the core's whole decision list) changes, given what the store last held
 * (`written`: id → JSON). New decisions that take a slot are checked against it, one compare and
 * one put per key, whatever their number in the list.
 */
export function planDecisionWrite(ds: readonly DecisionRecord[], written: ReadonlyMap<string, string>): DecisionWritePlan {
  const plan: DecisionWritePlan = { compares: [], slotPuts: [], puts: [], deletes: [] };
  const keysTaken = new Set<string>();
  const ids = new Set<string>();
  for (const d of ds) {
    ids.add(d.id);
    const json = JSON.stringify(d);
    const before = written.get(d.id);
    if (before === json) continue;
    if (before === undefined && takesSlot(d)) {
      for (const key of keysOf(d)) {
        if (keysTaken.has(key)) continue;
        keysTaken.add(key);
        plan.compares.push({ key, holder: newestFreed(ds, key, d.id, written) });
        plan.slotPuts.push({ key, id: newestHolder(ds, key, written) ?? d.id });
      }
    }
    plan.puts.push({ id: d.id, json });
  }
  for (const id of written.keys()) if (!ids.has(id)) plan.deletes.push(id);
  return plan;
}

/** The newest decision for `key` already in the store that no longer spends it (the slot holds it), or null. */
function newestFreed(ds: readonly DecisionRecord[], key: string, except: string, written: ReadonlyMap<string, string>): string | null {
  let best: DecisionRecord | undefined;
  for (const x of ds) if (keysOf(x).includes(key) && x.id !== except && written.has(x.id) && takesSlot(x) && freesKey(x) && (!best || x.decidedAt >= best.decidedAt)) best = x;
  return best?.id ?? null;
}

/** The decision that holds `key`'s slot after this write: among the new ones, the one that still spends it, else the newest. */
function newestHolder(ds: readonly DecisionRecord[], key: string, written: ReadonlyMap<string, string>): string | undefined {
  return slotHolders(ds.filter((x) => keysOf(x).includes(key) && !written.has(x.id))).get(key);
}

/**
 * The slot holders of a whole decision list (importing local records into an empty store): per
 * key, the decision that still spends it, else the newest one.
 */
export function slotHolders(ds: readonly DecisionRecord[]): Map<string, string> {
  const out = new Map<string, DecisionRecord>();
  for (const d of ds) {
    if (!takesSlot(d)) continue;
    for (const key of keysOf(d)) {
      const cur = out.get(key);
      if (!cur) out.set(key, d);
      else if (freesKey(cur) && !freesKey(d)) out.set(key, d);
      else if (freesKey(cur) === freesKey(d) && d.decidedAt >= cur.decidedAt) out.set(key, d);
    }
  }
  return new Map([...out].map(([k, d]) => [k, d.id]));
}
