import type { Inbound } from '../../src/correspondents/post-office.js';
import type { PartyId } from '../../src/protocol/party.js';
import type { BodyOf, DbStatusReport, Directives, MakePrimary, ViewRef } from '../../src/protocol/verbs.js';
import { sameView, viewKey, viewOf } from '../../src/protocol/view.js';
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
 * - no core throws;
 * - rule 2: an automatic promotion of a candidate that can never be a settled split (it does not
 *   outweigh the rest of the site in DC order) comes at least a failover period after the
 *   arbitrator had it complete (`failover_period_skipped`);
 * - rule 7: when both halves of an even cut are complete, fresh and non-Primary in what the
 *   arbitrator has received, with the same last primary component and no other member of it,
 *   and the preferred half is eligible (at least half of it, no decision yet, nothing Primary,
 *   not paused), an automatic promotion goes to the preferred half (`tie_not_preferred`);
 * - with `absoluteValidity`, no pc.bootstrap for a decision later than its validity after it
 *   was decided, clock skew bound included (`bootstrap_after_expiry`).
 * Liveness is checked by the run (run.ts), not here.
 */

/** What the arbitrator last received from one dbserver, with the simulated times. */
interface Heard {
  at: number;
  /** When the reading was taken, in elapsed ms like `at` (observedAt less the sender's clock offset and the origin). */
  observedAt: number;
  body: DbStatusReport;
  key: string | null;
}

export interface CheckOptions {
  /** Each party's clock offset from the simulated time now. */
  offset(party: PartyId): number;
  /** Turn on the checks whose guards may not have landed (see schedule.ts CI_FAULTS). */
  absoluteValidity: boolean;
  /** The simulated clock's reading at elapsed 0 (world.ts T0): readings' times are on that clock. */
  origin?: number;
}
export class Checker {
  readonly violations: Violation[] = [];
  private readonly bootstrapsByLastPc = new Map<string, string>();
  /** The drain set of the directives each dbclient last received (and so follows), across its restarts. */
  private readonly drainedAt = new Map<PartyId, { epoch: number; drained: Set<string> }>();
  /** The operator's pause as the arbitrator last acknowledged it. */
  private paused = false;
  /** The operator's request number (op-N, in issue order) of the standing pause, and of the newest resume received. */
  private pauseOp = -1;
  private resumeOp = -1;
  private readonly pendingOps = new Map<string, 'pause' | 'resume'>();
  private readonly repliedOps = new Set<string>();
  private readonly decisionsSeen = new Set<string>();
  private readonly makePrimaryDelivered = new Map<string, MakePrimary>();
  private operatorPromoting = false;
  /**
   * Rules 5 and 7 judge what "the arbitrator" received; once a twin process shares its address,
   * which of the two received what is not known, so those two checks are off for the rest of the
   * episode (the safety checks stay on; the twin's own refusals are what it tests).
   */
  private twinSeen = false;
  /** Automatic decisions sent while paused once a twin arbitrator ran: a violation if carried out. */
  private readonly sentWhilePaused = new Set<string>();
  /** Every pc.bootstrap that took effect: when, and the members it made Primary. */
  readonly promoted: Array<{ at: number; members: readonly string[] }> = [];
  readonly counts = { bootstraps: 0, decisions: 0, forcedDecisions: 0, lbApplies: 0, drainChecks: 0 };

  /**
   * Per arbitrator (several on a leader store: test/sim/ha-store.ts), its latest received report
   * per dbserver, and since when each view has been complete in them: rules 2 and 7 judge a
   * promotion by what the arbitrator that sent it had received.
   */
  private readonly received = new Map<PartyId, { heard: Map<PartyId, Heard>; completeSince: Map<string, number> }>();
  private viewer: PartyId = 'arbitrator:1';
  private get seen() {
    let v = this.received.get(this.viewer);
    if (!v) {
      v = { heard: new Map(), completeSince: new Map() };
      this.received.set(this.viewer, v);
    }
    return v;
  }
  private get heard(): Map<PartyId, Heard> {
    return this.seen.heard;
  }
  private get completeSince(): Map<string, number> {
    return this.seen.completeSince;
  }
  private readonly firstSent = new Map<string, number>();
  /** Every decision's target, as first sent. */
  private readonly sentTo = new Map<string, PartyId>();
  private readonly decidedLastPcs = new Set<string>();
  private readonly uuidToNode: Map<string, string>;
  /** Config weight per dbserver, and DC index in priority order. */
  private readonly dcOrder: string[];

  constructor(
    private readonly site: SimSite,
    private readonly model: GaleraModel,
    private readonly trace: Trace,
    private readonly elapsed: () => number,
    private readonly opts: CheckOptions = { offset: () => 0, absoluteValidity: false },
  ) {
    this.uuidToNode = new Map(site.nodes.map((n) => [n.uuid, n.name]));
    this.dcOrder = Object.entries(site.config.dataCentres)
      .sort((a, b) => a[1].priority - b[1].priority)
      .map(([dc]) => dc);
  }

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
    const sent = this.firstSent.get(decisionId);
    if (this.opts.absoluteValidity && sent !== undefined) {
      const skew = this.site.config.timings.maxClockSkew;
      const late = this.elapsed() - sent - decision.validForMs - 2 * skew - 1000;
      if (late > 0)
        this.violation(
          'bootstrap_after_expiry',
          `${self} ran pc.bootstrap for ${decisionId} ${this.elapsed() - sent} ms after it was decided: valid for ${decision.validForMs} ms, clock skew bound ${skew} ms`,
        );
    }
  }

  afterBootstrap(self: PartyId, r: BootstrapResult, decisionId: string): void {
    if (r.kind !== 'bootstrapped') return;
    this.counts.bootstraps++;
    if (this.sentWhilePaused.has(decisionId))
      this.violation('promoted_while_paused', `${self} ran pc.bootstrap for automatic ${decisionId}, sent by one of two arbitrator processes while the operator's pause stood`);
    this.promoted.push({ at: this.elapsed(), members: r.view.members });
    const key = r.lastPc ? this.model.pcViewId(r.lastPc) : `none:${r.from.id}`;
    const what = `${decisionId} by ${self}: view #${r.from.id}{${r.from.members.join(',')}} → Primary #${r.view.id}`;
    const earlier = this.bootstrapsByLastPc.get(key);
    if (earlier) this.violation('second_promotion_same_lastpc', `two promotions from last primary ${key}: ${earlier}, then ${what}`);
    else this.bootstrapsByLastPc.set(key, what);
    this.afterModelChange();
  }

  /** Every message the arbitrator's post office hands it, before the core sees it. */
  /** When each decision was made (elapsed ms), where its make_primary leaves later (a leader store's write first). */
  private readonly madeAt = new Map<string, number>();

  /**
   * A decision made now: with a leader store its make_primary leaves only once the store has
   * committed it, so rules 2 and 7 judge it as of this moment, not as of the send.
   */
  decisionMade(id: string): void {
    if (!this.madeAt.has(id)) this.madeAt.set(id, this.elapsed());
  }

  arbitratorInbound(m: Inbound, self: PartyId = 'arbitrator:1'): void {
    this.viewer = self;
    if (m.verb === 'db_status_report') this.reportHeard(m.from, m.body as DbStatusReport);
    if (m.verb === 'pause' || m.verb === 'resume') {
      const id = (m.body as { requestId: string }).requestId;
      if (!this.repliedOps.has(id)) this.pendingOps.set(id, m.verb);
      // A resume the operator asked for after the standing pause ends it once the arbitrator has
      // it, answered or not: it may persist it and crash before the answer, then promote at its
      // restart, as asked (all-faults seed 183833). A resume from before the pause (a late
      // datagram) does not end it.
      if (m.verb === 'resume') this.resumeOp = Math.max(this.resumeOp, opNumber(id));
      if (m.verb === 'resume' && opNumber(id) > this.pauseOp) this.paused = false;
    }
    // The operator's own promote is allowed while paused (rule 6); only automatic ones are not.
    this.operatorPromoting = m.verb === 'promote';
    if (m.verb === 'promote') this.promoteRequests.add((m.body as { requestId: string }).requestId);
  }

  arbitratorHandled(_m: Inbound): void {
    this.operatorPromoting = false;
  }

  /** The operator's promote requests that reached an arbitrator. */
  private readonly promoteRequests = new Set<string>();

  /**
   * `requestId`: the operator request the sender's own record of this make_primary names. A
   * decision made for a promote the arbitrator received, persisted, then sent only after a crash
   * and restart, is the operator's as much as one sent while handling it (all-faults seed 714213).
   */
  arbitratorOutbound(to: PartyId, verb: string, body: unknown, self: PartyId = 'arbitrator:1', requestId: string | null = null): void {
    this.viewer = self;
    if (verb === 'command_reply') {
      const r = body as BodyOf<'command_reply'>;
      // The first reply: a resend of the same request gets the cached answer, applies nothing.
      const op = this.pendingOps.get(r.requestId);
      this.pendingOps.delete(r.requestId);
      this.repliedOps.add(r.requestId);
      if (op && r.ok) {
        // A pause answered after a later resume arrived is overtaken by it.
        if (op === 'pause' && opNumber(r.requestId) > this.resumeOp) {
          this.paused = true;
          this.pauseOp = opNumber(r.requestId);
        }
        if (op === 'resume') this.paused = false;
      }
      return;
    }
    if (verb !== 'make_primary') return;
    const mp = body as MakePrimary;
    if (this.decisionsSeen.has(mp.decisionId)) return;
    this.decisionsSeen.add(mp.decisionId);
    this.firstSent.set(mp.decisionId, this.elapsed());
    this.sentTo.set(mp.decisionId, to);
    this.counts.decisions++;
    const firstForLastPc = mp.view.lastPrimaryViewId === null || !this.decidedLastPcs.has(mp.view.lastPrimaryViewId);
    if (mp.view.lastPrimaryViewId !== null) this.decidedLastPcs.add(mp.view.lastPrimaryViewId);
    if (mp.forced) {
      this.counts.forcedDecisions++;
      return;
    }
    const asked = this.operatorPromoting || (requestId !== null && this.promoteRequests.has(requestId));
    if (this.paused && !asked) {
      // With two arbitrator processes the pause is held by the one the operator reached; the
      // other may never hear of it (cut off, deaf) and its make_primary is then stopped by the
      // dbservers' fence (docs/safety.md, path 4). What must not happen is a promotion: judged
      // when a pc.bootstrap runs for it (all-faults seed 127252).
      if (this.twinSeen) this.sentWhilePaused.add(mp.decisionId);
      else this.violation('promoted_while_paused', `automatic ${mp.decisionId} to ${to} while the operator's pause stands`);
    }
    this.checkHalf(to, mp);
    if (!asked && !this.twinSeen) {
      this.checkFailoverWait(to, mp);
      if (firstForLastPc) this.checkTie(to, mp);
    }
  }

  /** The decisions first sent before `at` to one of `targets`. */
  sentBefore(at: number, targets: readonly PartyId[]): string[] {
    return [...this.firstSent].filter(([id, t]) => t < at && targets.includes(this.sentTo.get(id) as PartyId)).map(([id]) => id);
  }

  /** A second arbitrator process started (schedule `twin_start`). */
  twinStarted(): void {
    this.twinSeen = true;
  }

  private reportHeard(from: PartyId, body: DbStatusReport): void {
    const w = body.wsrep;
    const key = w && w.clusterStatus !== 'Primary' ? viewKey(viewOf(w)) : null;
    const prev = this.heard.get(from);
    // On the elapsed clock: compared with it below. On the simulated clock (T0-based) every
    // reading looked fresh, and a half heard 25 s before counted as complete and eligible
    // (all-faults seed 569430: tie_not_preferred for a promotion the rules require).
    const observedAt = body.observedAt - this.opts.offset(from) - (this.opts.origin ?? 0);
    this.heard.set(from, { at: this.elapsed(), observedAt, body, key });
    if (prev?.key === key && prev?.body.wsrep?.nodeUuid === w?.nodeUuid) return;
    // Which views are complete now: every member uuid has a latest report showing that view.
    const byUuid = new Map<string, string | null>();
    for (const h of this.heard.values()) if (h.body.wsrep) byUuid.set(h.body.wsrep.nodeUuid, h.key);
    const now = new Set<string>();
    for (const h of this.heard.values()) {
      const hw = h.body.wsrep;
      if (!h.key || !hw || now.has(h.key)) continue;
      if (hw.members.every((mb) => byUuid.get(mb.uuid) === h.key)) now.add(h.key);
    }
    for (const k of [...this.completeSince.keys()]) if (!now.has(k)) this.completeSince.delete(k);
    for (const k of now) if (!this.completeSince.has(k)) this.completeSince.set(k, this.elapsed());
  }

  /** Config weight of these member uuids per DC, in priority order. */
  private dcWeights(uuids: readonly string[]): number[] {
    const inView = new Set(uuids.map((u) => this.nodeOfUuid(u)));
    return this.dcOrder.map((dc) => this.site.dbservers.filter((s) => this.site.dcOf.get(s) === dc && inView.has(this.site.nodeOf.get(s) ?? '')).reduce((sum, s) => sum + this.configWeight(s), 0));
  }

  private nodeOfUuid(u: string): string | undefined {
    // A restarted node's uuid differs in its incarnation group only (galera-model.ts uuid()).
    const direct = this.uuidToNode.get(u);
    if (direct) return direct;
    const head = u.split('-')[0];
    return this.site.nodes.find((n) => n.uuid.split('-')[0] === head)?.name;
  }

  private configWeight(s: PartyId): number {
    const name = this.site.nodeOf.get(s);
    return this.site.nodes.find((n) => n.name === name)?.weight ?? 0;
  }

  /** Does a view with these members outweigh every other dbserver of the site, strictly, in DC order? */
  private outweighsRest(uuids: readonly string[]): boolean {
    const mine = this.dcWeights(uuids);
    const inView = new Set(uuids.map((u) => this.nodeOfUuid(u)));
    const rest = this.dcOrder.map((dc) =>
      this.site.dbservers.filter((s) => this.site.dcOf.get(s) === dc && !inView.has(this.site.nodeOf.get(s) ?? '')).reduce((sum, s) => sum + this.configWeight(s), 0),
    );
    return lexCompare(mine, rest) > 0;
  }

  /** Rule 2: a candidate that can never be a settled split waits out the failover period. */
  private checkFailoverWait(to: PartyId, mp: MakePrimary): void {
    if (this.site.nodes.some((n) => n.pcWeight !== undefined)) return; // weights unlike the config: the arbitrator's own business
    if (this.outweighsRest(mp.view.members)) return;
    const since = this.completeSince.get(viewKey(mp.view));
    if (since === undefined) return; // not complete in what it received (an older report kept?): nothing to judge
    const at = this.madeAt.get(mp.decisionId) ?? this.elapsed();
    if (since > at) return; // complete again only after the decision (a view change while its write was under way)
    const waited = at - since;
    const fp = this.site.config.timings.failoverPeriod;
    if (waited < fp - 1) {
      this.violation(
        'failover_period_skipped',
        `automatic ${mp.decisionId} to ${to} for a view complete for only ${waited} ms (failover period ${fp} ms), which does not outweigh the rest of the site`,
      );
    }
  }

  /**
   * Rule 7 at an even cut: when the preferred half was complete, fresh and eligible too, the
   * promotion goes to it. Judged on what the arbitrator received, with margins for clock skew.
   */
  private checkTie(to: PartyId, mp: MakePrimary): void {
    if (this.site.nodes.some((n) => n.pcWeight !== undefined)) return;
    const lp = mp.view.lastPrimaryViewId;
    if (lp === null) return;
    const t = this.site.config.timings;
    const now = this.madeAt.get(mp.decisionId) ?? this.elapsed();
    // Fresh with room to spare: a reading taken within staleAfter less twice the skew any clock may have.
    const freshWithin = t.staleAfter - 2 * this.maxOffset() - t.ackTimeout;
    if (freshWithin <= 0) return;
    const latest = [...this.heard.values()];
    if (latest.some((h) => h.body.wsrep?.clusterStatus === 'Primary' && now - h.at <= t.staleAfter)) return;
    const cKey = viewKey(mp.view);
    const cMembers = new Set(mp.view.members);
    for (const [key, since] of this.completeSince) {
      if (key === cKey || since > now) continue;
      const reps = latest.filter((h) => h.key === key);
      const first = reps[0]?.body.wsrep;
      if (!first || reps.some((h) => now - h.observedAt > freshWithin || h.body.mariadb !== 'up')) continue;
      if (first.lastPrimary?.viewId !== lp) continue;
      const dMembers = first.members.map((x) => x.uuid);
      if (dMembers.some((u) => cMembers.has(u))) continue;
      // An even cut: every member of the last primary component, with the uuid it had, is in C or D.
      const all = new Set([...cMembers, ...dMembers]);
      if (!first.lastPrimary.members.every((u) => all.has(u)) || first.lastPrimary.members.length !== all.size) continue;
      if (!reps.every((h) => h.body.wsrep?.lastPrimary?.viewId === lp)) continue;
      const pcW = first.lastPrimary.members.reduce((sum, u) => sum + this.weightOfUuid(u), 0);
      const dW = dMembers.reduce((sum, u) => sum + this.weightOfUuid(u), 0);
      if (dW * 2 < pcW) continue;
      if (lexCompare(this.dcWeights(dMembers), this.dcWeights(mp.view.members)) <= 0) continue;
      this.violation(
        'tie_not_preferred',
        `automatic ${mp.decisionId} to ${to} for ${this.describeUuids(mp.view.members)} while the preferred half ${this.describeUuids(dMembers)} was complete since ${since} ms, fresh and eligible`,
      );
      return;
    }
  }

  private weightOfUuid(u: string): number {
    const name = this.nodeOfUuid(u);
    return this.site.nodes.find((n) => n.name === name)?.weight ?? 0;
  }

  private describeUuids(us: readonly string[]): string {
    return `{${us.map((u) => this.nodeOfUuid(u) ?? u).join(',')}}`;
  }

  private maxOffset(): number {
    let m = 0;
    for (const id of [...this.site.dbservers, ...this.site.dbclients, 'arbitrator:1' as PartyId]) m = Math.max(m, Math.abs(this.opts.offset(id)));
    return m;
  }

  /** Rule 3 against the model's own record of the last primary component the view names. */
  private checkHalf(to: PartyId, mp: MakePrimary): void {
    const lpId = mp.view.lastPrimaryViewId;
    const pc = lpId === null ? undefined : this.model.pcByViewId(lpId);
    if (!pc) {
      this.violation('automatic_unknown_lastpc', `automatic ${mp.decisionId} to ${to} names last primary ${lpId ?? 'none'}, which Galera never installed`);
      return;
    }
    // By node, whatever the uuid's incarnation (a node restarted with pc.recovery has a new one).
    const inView = new Set(mp.view.members.map((u) => this.nodeOfUuid(u) ?? u));
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

function lexCompare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The number of an operator request id (`op-7` → 7; the simulator numbers them in issue order). */
function opNumber(requestId: string): number {
  const n = Number(requestId.slice(requestId.lastIndexOf('-') + 1));
  return Number.isFinite(n) ? n : -1;
}
