import type { PrimaryView, ViewRef, WsrepStatus } from './verbs.js';

/**
 * The exact view a `make_primary` decision names, and which a dbserver must still be in to
 * carry it out: the cluster state uuid, the member node uuids (sorted), and the node's own last
 * primary component (Galera's gvwstate.dat). A node that has been in any primary component
 * since, or whose membership changed, no longer matches, so a late or duplicated decision does
 * nothing.
 */
export function viewOf(w: WsrepStatus): ViewRef {
  return {
    stateUuid: w.stateUuid,
    members: w.members.map((m) => m.uuid).sort(),
    lastPrimaryViewId: w.lastPrimary?.viewId ?? null,
  };
}

export function viewKey(v: ViewRef): string {
  return `${v.stateUuid}|${v.members.join(',')}|${v.lastPrimaryViewId ?? '-'}`;
}

export function sameView(a: ViewRef, b: ViewRef): boolean {
  return viewKey(a) === viewKey(b);
}

export function primaryViewKey(p: PrimaryView): string {
  return `${p.viewId}|${[...p.members].sort().join(',')}`;
}
