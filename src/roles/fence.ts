/**
 * Fencing tokens (docs/arbitrator-ha.md; Chubby's sequencers, Kleppmann's fencing tokens). With
 * `arbitrator.store: etcd` every make_primary and directives carries its leader's token (the
 * etcd revision at which it took the lead; a later leader always has a larger one). A receiver
 * keeps the highest token it has seen, durably, and refuses anything older: an arbitrator that
 * lost its lease without knowing it (paused, cut off, its datagrams delayed) cannot act after a
 * newer leader has spoken. With the local store there is one arbitrator and no token.
 */
export type FenceVerdict = { ok: true; highest: number; raised: boolean } | { ok: false; reason: string };

/** `required`: the site runs arbitrators on etcd, so a message without a token is refused too. */
export function checkFence(highest: number, fence: number | undefined, required: boolean): FenceVerdict {
  if (fence === undefined) {
    if (required) return { ok: false, reason: 'it carries no fencing token, and this site runs its arbitrators on etcd (arbitrator.store etcd)' };
    return { ok: true, highest, raised: false };
  }
  if (fence < highest) return { ok: false, reason: `its fencing token ${fence} is older than ${highest}, already seen from a newer leader` };
  return { ok: true, highest: fence, raised: fence > highest };
}

/** Where dbservers and dbclients keep the highest token seen. */
export const LEADER_FENCE_KEY = 'fence.highest';
