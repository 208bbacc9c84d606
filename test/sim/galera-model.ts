import type { Member, WsrepStatus } from '../../src/protocol/verbs.js';

/**
 * A small model of Galera's primary-component rule as gcomm/src/pc_proto.cpp implements it,
 * enough to judge the arbitrator: nodes with weights, each node's current view, its last primary
 * component as gvwstate.dat keeps it, and seqnos, over DB links that can be cut and healed.
 *
 * What the model says, and what it leaves out (docs/simulator.md, "The Galera model"):
 * - Nodes that can talk form one view. "Can talk" is the symmetric closure of the links: a link
 *   counts only when both directions are up, and talking is transitive (gmcast relays), so an
 *   asymmetric cut breaks the link it cuts and nothing else.
 * - Views change only when the harness calls `reconfigure()`, after a detection delay: until
 *   then a cut-off majority still says Primary with its old size, as the lab shows. The harness
 *   may open the change first (`beginChange`): gcomm is then between views, and pc.bootstrap is
 *   ignored there (set_param: only in S_NON_PRIM; handle_trans_install drops a bootstrap install).
 * - A piece holding members of one Primary view V stays Primary iff they hold more than half of
 *   V's weight (have_quorum, checked in handle_trans); the others join it (IST).
 * - A piece with no Primary member re-forms a Primary by itself only when EVERY member of the
 *   newest last primary component its members remember is present (is_prim: the intersection of
 *   the greatest last-prim view and the present members must be the whole greatest view), not a
 *   majority. Members are matched on the uuid's fixed part, so a node restarted with
 *   pc.recovery (a bumped incarnation in its uuid) counts as present. When every such member was
 *   restarted (their own last_prim is then non-primary), it takes the pc.recovery path instead
 *   (deliver_view with rst_view_): exactly the restored view's members, all with that same view.
 * - Pieces with members of two Primary views (a split brain, which the checks forbid anyway) do
 *   not merge.
 * - `pcBootstrap` makes a non-Primary view Primary with itself as the new LastPC, and is ignored
 *   on a Primary view and during a view change, as `pc.bootstrap=YES` is.
 * - Weights are each node's real pc.weight (`pcWeight`), which may differ from the site config's.
 * - What SHOW STATUS shows (`reading`) may lag the group layer per node (`showLater`): the
 *   server processes a view after the write-sets queued before it.
 * - A killed node can be restarted (`restart`): pc.recovery restores its gvwstate.dat, its uuid's
 *   incarnation is bumped, it starts alone and non-Primary and is seen at the next reconfigure.
 *   Graceful leaves (view.left() in have_quorum) are not modelled: every stop is a crash.
 */

export interface ModelNodeSpec {
  name: string;
  uuid: string;
  /** The weight the site config says. */
  weight: number;
  /** The node's real pc.weight when it differs from the config's (a misconfiguration the arbitrator must see). */
  pcWeight?: number;
  /** Galera's incoming address, as reported in members. */
  address: string;
}

/** A view as the members see it; `id` grows with every view the model installs. */
export interface ModelView {
  readonly id: number;
  readonly members: readonly string[];
  readonly primary: boolean;
}

/** A primary component as gvwstate.dat keeps it: the members by name and by the uuids they had then. */
export interface LastPc {
  readonly id: number;
  readonly members: readonly string[];
  readonly uuids: readonly string[];
}

interface Shown {
  view: ModelView;
  lastPc: LastPc | null;
  uuid: string;
}

interface NodeState {
  readonly spec: ModelNodeSpec;
  up: boolean;
  view: ModelView | null;
  lastPc: LastPc | null;
  seqno: number;
  /** Bumped by every restart: gcomm's uuid incarnation (pc.recovery). */
  incarnation: number;
  /** Restarted with pc.recovery and in no primary component since (its last_prim is non-primary). */
  restored: boolean;
  /** gcomm is between views (trans, state exchange, install): pc.bootstrap is ignored. */
  changing: boolean;
  /** What SHOW STATUS shows; null: the same as the group layer (no lag). */
  shown: Shown | null;
  /** pc.weight set at run time; undefined: the spec's. */
  weight?: number;
}

export type ViewChange = { kind: 'view'; view: ModelView; reason: string } | { kind: 'no_merge'; members: readonly string[]; primaries: readonly number[] };

export type BootstrapResult = { kind: 'bootstrapped'; view: ModelView; from: ModelView; lastPc: LastPc | null } | { kind: 'ignored'; reason: 'primary' | 'down' | 'view_change' };

export class GaleraModel {
  private readonly nodes = new Map<string, NodeState>();
  private readonly order: string[];
  /** Directed node pairs `a>b` whose traffic is dropped. */
  private readonly blocked = new Set<string>();
  /** Every primary component ever installed, by the view id gvwstate.dat would show. */
  private readonly pcs = new Map<string, LastPc>();
  private viewSeq = 0;

  constructor(
    specs: readonly ModelNodeSpec[],
    readonly stateUuid: string,
  ) {
    if (specs.length === 0) throw new Error('a Galera model needs at least one node');
    for (const s of specs) {
      if (this.nodes.has(s.name)) throw new Error(`node ${s.name} twice`);
      this.nodes.set(s.name, { spec: s, up: true, view: null, lastPc: null, seqno: 0, incarnation: 0, restored: false, changing: false, shown: null });
    }
    this.order = specs.map((s) => s.name).sort();
    // The cluster starts healthy: one Primary component of every node, as after a bootstrap.
    const view = this.newView(this.order, true);
    const pc = this.lastPcOf(view);
    this.pcs.set(this.pcViewId(pc), pc);
    for (const n of this.nodes.values()) {
      n.view = view;
      n.lastPc = pc;
    }
  }

  get names(): readonly string[] {
    return this.order;
  }

  spec(name: string): ModelNodeSpec {
    return this.node(name).spec;
  }

  view(name: string): ModelView | null {
    return this.node(name).view;
  }

  lastPc(name: string): LastPc | null {
    return this.node(name).lastPc;
  }

  seqno(name: string): number {
    return this.node(name).seqno;
  }

  isUp(name: string): boolean {
    return this.node(name).up;
  }

  /** The real weight (pc.weight) of these members: what Galera counts. */
  weight(members: Iterable<string>): number {
    let w = 0;
    for (const m of members) w += this.pcWeight(m);
    return w;
  }

  pcWeight(name: string): number {
    const n = this.node(name);
    return n.weight ?? n.spec.pcWeight ?? n.spec.weight;
  }

  /** SET GLOBAL wsrep_provider_options='pc.weight=N' (an install with F_WEIGHT_CHANGE); the config is not changed. */
  setPcWeight(name: string, weight: number): void {
    this.node(name).weight = weight;
  }

  /** The node's gcomm uuid now: the config's uuid with the incarnation (bumped by every restart) in its third group. */
  uuid(name: string): string {
    const n = this.node(name);
    if (n.incarnation === 0) return n.spec.uuid;
    const parts = n.spec.uuid.split('-');
    parts[2] = (0x4000 + (n.incarnation % 0x1000)).toString(16);
    return parts.join('-');
  }

  incarnation(name: string): number {
    return this.node(name).incarnation;
  }

  // --- links ---------------------------------------------------------------------------------

  /** Cuts the DB links from every node of `a` to every node of `b` (and back unless oneWay). */
  cut(a: readonly string[], b: readonly string[], oneWay = false): void {
    for (const x of a) {
      for (const y of b) {
        if (x === y) continue;
        this.blocked.add(`${x}>${y}`);
        if (!oneWay) this.blocked.add(`${y}>${x}`);
      }
    }
  }

  /** Heals the links between `a` and `b` both ways; with no arguments heals every link. */
  heal(a?: readonly string[], b?: readonly string[]): void {
    if (!a || !b) {
      this.blocked.clear();
      return;
    }
    for (const x of a) {
      for (const y of b) {
        this.blocked.delete(`${x}>${y}`);
        this.blocked.delete(`${y}>${x}`);
      }
    }
  }

  /** Galera needs both directions: a one-way cut breaks the link. */
  canTalk(a: string, b: string): boolean {
    return !this.blocked.has(`${a}>${b}`) && !this.blocked.has(`${b}>${a}`);
  }

  /** Every live node's piece: the connected components of the links that work both ways. */
  pieces(): string[][] {
    const seen = new Set<string>();
    const out: string[][] = [];
    for (const start of this.order) {
      if (seen.has(start) || !this.node(start).up) continue;
      const piece: string[] = [];
      const todo = [start];
      seen.add(start);
      for (let x = todo.pop(); x !== undefined; x = todo.pop()) {
        piece.push(x);
        for (const y of this.order) {
          if (!seen.has(y) && this.node(y).up && this.canTalk(x, y)) {
            seen.add(y);
            todo.push(y);
          }
        }
      }
      out.push(piece.sort());
    }
    return out;
  }

  // --- what Galera does -------------------------------------------------------------------------

  /** The pieces whose members' views no longer match the links. */
  private changedPieces(): string[][] {
    return this.pieces().filter((piece) => {
      const first = this.node(piece[0] as string).view;
      return !(first && sameMembers(first.members, piece) && piece.every((m) => this.node(m).view === first));
    });
  }

  /**
   * The group layer starts a view change (evs has agreed a new membership; pc is in trans and
   * state exchange until `reconfigure`): pc.bootstrap on those nodes is ignored meanwhile.
   * Returns the nodes that are changing.
   */
  beginChange(): string[] {
    const out: string[] = [];
    for (const piece of this.changedPieces()) {
      for (const m of piece) {
        this.node(m).changing = true;
        out.push(m);
      }
    }
    return out;
  }

  isChanging(name: string): boolean {
    return this.node(name).changing;
  }

  /** The group communication layer has noticed the current links: install the views they give. */
  reconfigure(): ViewChange[] {
    const changes: ViewChange[] = [];
    for (const piece of this.changedPieces()) changes.push(...this.formPiece(piece));
    for (const n of this.nodes.values()) n.changing = false;
    return changes;
  }

  private formPiece(piece: string[]): ViewChange[] {
    const prims = new Map<number, ModelView>();
    for (const m of piece) {
      const v = this.node(m).view;
      if (v?.primary) prims.set(v.id, v);
    }
    if (prims.size > 1) {
      // Two primary components never merge; each keeps what it still holds of itself.
      const changes: ViewChange[] = [{ kind: 'no_merge', members: piece, primaries: [...prims.keys()] }];
      const rest = piece.filter((m) => !this.node(m).view?.primary);
      for (const v of prims.values()) {
        const part = piece.filter((m) => this.node(m).view === v);
        const quorum = this.weight(part) * 2 > this.weight(v.members);
        changes.push(this.install(part, quorum, quorum ? this.maxSeqno(part) : null, 'split brain: primaries do not merge'));
      }
      if (rest.length > 0) changes.push(this.install(rest, false, null, 'split brain: left out of both primaries'));
      return changes;
    }
    const prim = [...prims.values()][0];
    if (prim) {
      const inPrim = piece.filter((m) => prim.members.includes(m));
      const quorum = this.weight(inPrim) * 2 > this.weight(prim.members);
      const reason = quorum
        ? `holds ${this.weight(inPrim)} of ${this.weight(prim.members)} of primary view ${prim.id}`
        : `holds only ${this.weight(inPrim)} of ${this.weight(prim.members)} of primary view ${prim.id}`;
      // Joiners catch up from the primary part by IST.
      return [this.install(piece, quorum, quorum ? this.maxSeqno(inPrim) : null, reason)];
    }
    return [this.install(piece, ...this.rebootstrap(piece))];
  }

  /**
   * is_prim() with no member from a Primary view, and the pc.recovery path of deliver_view():
   * re-forming a Primary needs every member of the newest last primary component present.
   */
  private rebootstrap(piece: readonly string[]): [boolean, number | null, string] {
    const last = this.newestLastPc(piece);
    if (!last) return [false, null, 'no member remembers a primary component'];
    const present = new Set(piece);
    const missing = last.members.filter((m) => !present.has(m));
    if (missing.length > 0) return [false, null, `${missing.join(',')} of last primary ${last.id} missing (is_prim needs every member)`];
    const live = piece.filter((m) => last.members.includes(m) && !this.node(m).restored);
    if (live.length === 0) {
      // Every member of it restarted: only the restored view itself, exactly, with every member restored from it.
      const exact = sameMembers(last.members, piece) && piece.every((m) => this.node(m).lastPc?.id === last.id);
      if (!exact) return [false, null, `restored view ${last.id} does not match the members exactly (pc.recovery)`];
      return [true, this.maxSeqno(piece), `every member of restored view ${last.id} is back (pc.recovery)`];
    }
    return [true, this.maxSeqno(piece), `every member of last primary ${last.id} is present: re-bootstrapped (is_prim)`];
  }

  /** `SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'` on one node. */
  pcBootstrap(name: string): BootstrapResult {
    const n = this.node(name);
    if (!n.up || !n.view) return { kind: 'ignored', reason: 'down' };
    if (n.view.primary) return { kind: 'ignored', reason: 'primary' };
    if (n.changing) return { kind: 'ignored', reason: 'view_change' };
    const from = n.view;
    const lastPc = n.lastPc;
    const members = [...from.members];
    const ch = this.install(members, true, this.maxSeqno(members), `pc.bootstrap on ${name}`);
    return { kind: 'bootstrapped', view: (ch as { view: ModelView }).view, from, lastPc };
  }

  /** mariadbd dies; the others notice at the next reconfigure. */
  kill(name: string): void {
    const n = this.node(name);
    n.up = false;
    n.view = null;
    n.changing = false;
    n.shown = null;
  }

  /**
   * mariadbd starts again with pc.recovery: gvwstate.dat gives back its last primary component,
   * its uuid's incarnation is bumped, and it is alone and non-Primary until the next reconfigure.
   */
  restart(name: string): ViewChange | null {
    const n = this.node(name);
    if (n.up) return null;
    n.up = true;
    n.incarnation++;
    n.restored = n.lastPc !== null;
    return this.install([name], false, null, `restarted (pc.recovery, incarnation ${n.incarnation})`);
  }

  /**
   * What SHOW STATUS shows now lags the group layer for this node (until `show`): the view it
   * shows is frozen as it is now.
   */
  freezeShown(name: string): void {
    const n = this.node(name);
    if (n.shown || !n.view) return;
    n.shown = { view: n.view, lastPc: n.lastPc, uuid: this.uuid(name) };
  }

  /** The server has processed its views: SHOW STATUS shows the group layer's state again. */
  show(name: string): void {
    this.node(name).shown = null;
  }

  /** Every Primary view commits `writes` transactions: their members' seqnos advance together. */
  commit(writes = 1): void {
    for (const v of this.primaryViews()) {
      for (const m of v.members) {
        const n = this.node(m);
        if (n.up && n.view === v) n.seqno += writes;
      }
    }
  }

  /** The distinct Primary views live nodes are in now: more than one is a split brain. */
  primaryViews(): ModelView[] {
    const seen = new Map<number, ModelView>();
    for (const name of this.order) {
      const n = this.node(name);
      if (n.up && n.view?.primary) seen.set(n.view.id, n.view);
    }
    return [...seen.values()];
  }

  /** What a dbserver reads from SHOW STATUS LIKE 'wsrep_%' and gvwstate.dat; null when down. */
  reading(name: string): WsrepStatus | null {
    const n = this.node(name);
    if (!n.up || !n.view) return null;
    const v = n.shown?.view ?? n.view;
    const lastPc = n.shown ? n.shown.lastPc : n.lastPc;
    return {
      clusterStatus: v.primary ? 'Primary' : 'non-Primary',
      localState: v.primary ? 'Synced' : 'Initialized',
      ready: v.primary,
      connected: true,
      clusterSize: v.members.length,
      stateUuid: this.stateUuid,
      confId: v.primary ? v.id : null,
      lastCommitted: n.seqno,
      nodeUuid: n.shown?.uuid ?? this.uuid(name),
      members: v.members.map((m) => this.member(m)),
      lastPrimary: lastPc ? { viewId: this.pcViewId(lastPc), members: [...lastPc.uuids] } : null,
      // The dbserver reads it from wsrep_provider_options (issue 11 path 2).
      pcWeight: this.pcWeight(name),
    };
  }

  /** The primary component a reported `lastPrimary.viewId` names. */
  pcByViewId(viewId: string): LastPc | undefined {
    return this.pcs.get(viewId);
  }

  /** gvwstate.dat writes `view_id: <type> <representative uuid> <seq>`. */
  pcViewId(pc: LastPc): string {
    return `3 ${pc.uuids[0] ?? '-'} ${pc.id}`;
  }

  describe(): string {
    const views = new Map<number, ModelView>();
    for (const name of this.order) {
      const v = this.node(name).view;
      if (v) views.set(v.id, v);
    }
    const parts = [...views.values()].map((v) => `${v.primary ? 'P' : 'np'}#${v.id}{${v.members.join(',')}}`);
    const down = this.order.filter((m) => !this.node(m).up);
    const lastPcs = this.order.map((m) => `${m}:${this.node(m).lastPc?.id ?? '-'}@${this.node(m).seqno}`);
    return `${parts.join(' ')}${down.length ? ` down{${down.join(',')}}` : ''} lastPc[${lastPcs.join(' ')}]`;
  }

  private member(name: string): Member {
    const s = this.node(name).spec;
    return { uuid: this.uuid(name), name: s.name, address: s.address };
  }

  private lastPcOf(view: ModelView): LastPc {
    return { id: view.id, members: view.members, uuids: view.members.map((m) => this.uuid(m)) };
  }

  private newestLastPc(piece: readonly string[]): LastPc | null {
    let best: LastPc | null = null;
    for (const m of piece) {
      const pc = this.node(m).lastPc;
      if (pc && (!best || pc.id > best.id)) best = pc;
    }
    return best;
  }

  private maxSeqno(members: readonly string[]): number {
    return Math.max(...members.map((m) => this.node(m).seqno));
  }

  private newView(members: readonly string[], primary: boolean): ModelView {
    return { id: ++this.viewSeq, members: [...members].sort(), primary };
  }

  private install(members: readonly string[], primary: boolean, seqno: number | null, reason: string): ViewChange {
    const view = this.newView(members, primary);
    const pc = this.lastPcOf(view);
    if (primary) this.pcs.set(this.pcViewId(pc), pc);
    for (const m of view.members) {
      const n = this.node(m);
      n.view = view;
      n.changing = false;
      if (primary) {
        n.lastPc = pc;
        n.restored = false;
        if (seqno !== null) n.seqno = seqno;
      }
    }
    return { kind: 'view', view, reason };
  }

  private node(name: string): NodeState {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name} in the model`);
    return n;
  }
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
