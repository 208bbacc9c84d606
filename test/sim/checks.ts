import type { Inbound } from '../../src/correspondents/post-office.js';
import type { PartyId } from '../../src/protocol/party.js';
import type { BodyOf, Directives, MakePrimary, ViewRef } from '../../src/protocol/verbs.js';
import { sameView, viewKey } from '../../src/protocol/view.js';
import type { DesiredLb } from '../../src/roles/dbclient/lb/types.js';
import type { BootstrapResult, GaleraModel } from './galera-model.js';
import type { SimSite } from './site.js';
import type { Trace } from './trace.js';

export interface Violation {
  /** Simulated ms since the start of the run. */
  at: number;
  kind: string;
  text: string;
}

/**
 * The properties checked on every step of a run (docs/simulator.md):
 * - never two Primary components at once (the model's ground truth);
 * - never a pc.bootstrap on a node whose view differs from the decision's view, and never two
 *   pc.bootstraps carried out from the same last primary component (one promotion per LastPC);
 * - an automatic make_primary names a view holding at least half of its LastPC's weight, and
 *   none is decided while the operator's pause stands;
 * - a dbclient that applied directives draining a node never asks its load balancer to send
 *   that node new connections (state 'ready' in either backend), and never asks for two
 *   writers at once;
 * - no core throws.
 * Liveness is checked by the run (run.ts), not here.
 */
export class Checker {
  readonly violations: Violation[] = [];
  private readonly bootstrapsByLastPc = new Map<string, string>();
  /** The drain set of the directives each dbclient last received (and so follows), across its restarts. */
  private readonly drainedAt = new Map<PartyId, { epoch: number; drained: Set<string> }>();
  /** The operator's pause as the arbitrator last acknowledged it. */
  private paused = false;
  private readonly pendingOps = new Map<string, 'pause' | 'resume'>();
  private readonly repliedOps = new Set<string>();
  private readonly decisionsSeen = new Set<string>();
  private readonly makePrimaryDelivered = new Map<string, MakePrimary>();
  private operatorPromoting = false;
  /** Every pc.bootstrap that took effect: when, and the members it made Primary. */
  readonly promoted: Array<{ at: number; members: readonly string[] }> = [];
  readonly counts = { bootstraps: 0, decisions: 0, forcedDecisions: 0, lbApplies: 0, drainChecks: 0 };

  constructor(
    private readonly site: SimSite,
    private readonly model: GaleraModel,
    private readonly trace: Trace,
    private readonly elapsed: () => number,
  ) {}

  /** The operator's pause as the arbitrator last acknowledged it. */
  get operatorPaused(): boolean {
    return this.paused;
  }

  get failed(): boolean {
    return this.violations.length > 0;
  }

  violation(kind: string, text: string): void {
    this.violations.push({ at: this.elapsed(), kind, text });
    this.trace.add('CHECK', `VIOLATION ${kind}: ${text}`);
  }

  /** After every change of the model. */
  afterModelChange(): void {
    const prims = this.model.primaryViews();
    if (prims.length > 1) this.violation('two_primaries', `${prims.length} Primary components at once: ${this.model.describe()}`);
  }

  /** Every make_primary a dbserver's post office hands it, as sent. */
  dbserverInbound(self: PartyId, m: Inbound): void {
    if (m.verb === 'make_primary') {
      const mp = m.body as MakePrimary;
      this.makePrimaryDelivered.set(`${self}|${mp.decisionId}`, mp);
    }
  }

  delivered(self: PartyId, decisionId: string): MakePrimary | null {
    return this.makePrimaryDelivered.get(`${self}|${decisionId}`) ?? null;
  }

  /** Just before pc.bootstrap is carried out on `node` for `decisionId`, with that decision as delivered. */
  beforeBootstrap(self: PartyId, node: string, mine: ViewRef, decisionId: string, decision: MakePrimary | null): void {
    if (!decision) {
      this.violation('bootstrap_without_decision', `${self} ran pc.bootstrap for ${decisionId}, which no make_primary to it carried`);
      return;
    }
    if (!sameView(mine, decision.view)) {
      this.violation('bootstrap_wrong_view', `${self} (${node}) ran pc.bootstrap for ${decision.decisionId} in view ${viewKey(mine)}, the decision names ${viewKey(decision.view)}`);
    }
  }

  afterBootstrap(self: PartyId, r: BootstrapResult, decisionId: string): void {
    if (r.kind !== 'bootstrapped') return;
    this.counts.bootstraps++;
    this.promoted.push({ at: this.elapsed(), members: r.view.members });
    const key = r.lastPc ? this.model.pcViewId(r.lastPc) : `none:${r.from.id}`;
    const what = `${decisionId} by ${self}: view #${r.from.id}{${r.from.members.join(',')}} → Primary #${r.view.id}`;
    const earlier = this.bootstrapsByLastPc.get(key);
    if (earlier) this.violation('second_promotion_same_lastpc', `two promotions from last primary ${key}: ${earlier}, then ${what}`);
    else this.bootstrapsByLastPc.set(key, what);
    this.afterModelChange();
  }

  /** Every message the arbitrator's post office hands it, before the core sees it. */
  arbitratorInbound(m: Inbound): void {
    if (m.verb === 'pause' || m.verb === 'resume') {
      const id = (m.body as { requestId: string }).requestId;
      if (!this.repliedOps.has(id)) this.pendingOps.set(id, m.verb);
    }
    // The operator's own promote is allowed while paused (rule 6); only automatic ones are not.
    this.operatorPromoting = m.verb === 'promote';
  }

  arbitratorHandled(_m: Inbound): void {
    this.operatorPromoting = false;
  }

  arbitratorOutbound(to: PartyId, verb: string, body: unknown): void {
    if (verb === 'command_reply') {
      const r = body as BodyOf<'command_reply'>;
      // The first reply: a resend of the same request gets the cached answer, applies nothing.
      const op = this.pendingOps.get(r.requestId);
      this.pendingOps.delete(r.requestId);
      this.repliedOps.add(r.requestId);
      if (op && r.ok) this.paused = op === 'pause';
      return;
    }
    if (verb !== 'make_primary') return;
    const mp = body as MakePrimary;
    if (this.decisionsSeen.has(mp.decisionId)) return;
    this.decisionsSeen.add(mp.decisionId);
    this.counts.decisions++;
    if (mp.forced) {
      this.counts.forcedDecisions++;
      return;
    }
    if (this.paused && !this.operatorPromoting) this.violation('promoted_while_paused', `automatic ${mp.decisionId} to ${to} while the operator's pause stands`);
    this.checkHalf(to, mp);
  }

  /** Rule 3 against the model's own record of the last primary component the view names. */
  private checkHalf(to: PartyId, mp: MakePrimary): void {
    const lpId = mp.view.lastPrimaryViewId;
    const pc = lpId === null ? undefined : this.model.pcByViewId(lpId);
    if (!pc) {
      this.violation('automatic_unknown_lastpc', `automatic ${mp.decisionId} to ${to} names last primary ${lpId ?? 'none'}, which Galera never installed`);
      return;
    }
    const uuidToNode = new Map(this.site.nodes.map((n) => [n.uuid, n.name]));
    const inView = new Set(mp.view.members.map((u) => uuidToNode.get(u) ?? u));
    const inside = pc.members.filter((m) => inView.has(m));
    const w = this.model.weight(inside);
    const total = this.model.weight(pc.members);
    if (w * 2 < total) this.violation('automatic_below_half', `automatic ${mp.decisionId} to ${to}: view holds weight ${w} of ${total} of its last primary ${lpId}`);
  }

  dbclientInbound(self: PartyId, m: Inbound): void {
    if (m.verb !== 'directives') return;
    const d = m.body as Directives;
    this.drainedAt.set(self, { epoch: d.epoch, drained: new Set(d.drained) });
  }

  /**
   * Drain means no new connections: never 'ready' for a node the applied directives drain.
   * One writer at a time: never two servers 'ready' in one load balancer's write backend.
   */
  lbWanted(self: PartyId, desired: DesiredLb): void {
    this.counts.lbApplies++;
    const writers = desired.write.filter((s) => s.state === 'ready').map((s) => s.server);
    if (writers.length > 1) this.violation('two_writers', `${self} asked its load balancer to send writes to ${writers.join(' and ')}`);
    const d = this.drainedAt.get(self);
    if (!d || d.drained.size === 0) return;
    this.counts.drainChecks++;
    for (const backend of ['write', 'read'] as const) {
      for (const s of desired[backend]) {
        if (s.state === 'ready' && d.drained.has(s.server)) {
          this.violation('drained_node_ready', `${self} set ${backend}/${s.server} ready after directives epoch ${d.epoch} drained it`);
        }
      }
    }
  }
}
