import type { Member, WsrepStatus } from '../../src/protocol/verbs.js';

/**
 * A small model of Galera's primary-component rule (LAB.md, gcomm's pc_proto), enough to judge
 * the arbitrator: nodes with weights, each node's current view, its last primary component as
 * gvwstate.dat keeps it, and seqnos, over DB links that can be cut and healed.
 *
 * What the model says, and what it leaves out (docs/simulator.md):
 * - Nodes that can talk form one view. "Can talk" is the symmetric closure of the links: a link
 *   counts only when both directions are up, and talking is transitive (gmcast relays), so an
 *   asymmetric cut breaks the link it cuts and nothing else.
 * - Views change only when the harness calls `reconfigure()`, after a detection delay: until
 *   then a cut-off majority still says Primary with its old size, as the lab shows.
 * - A piece holding members of one Primary view V is Primary iff it holds > half of V's weight;
 *   the others join it (IST). A piece with no Primary member is Primary iff it holds > half of
 *   the newest LastPC its members remember. Pieces with members of two Primary views (a split
 *   brain, which the checks forbid anyway) do not merge.
 * - `pcBootstrap` makes a non-Primary view Primary with itself as the new LastPC, and is ignored
 *   on a Primary view, as `pc.bootstrap=YES` is.
 * - A killed node stays down (cold start is out of scope); graceful leaves are not modelled.
 */

export interface ModelNodeSpec {
  name: string;
  uuid: string;
  weight: number;
  /** Galera's incoming address, as reported in members. */
  address: string;
}

/** A view as the members see it; `id` grows with every view the model installs. */
export interface ModelView {
  readonly id: number;
  readonly members: readonly string[];
  readonly primary: boolean;
}

/** A primary component as gvwstate.dat keeps it. */
export interface LastPc {
  readonly id: number;
  readonly members: readonly string[];
}

interface NodeState {
  readonly spec: ModelNodeSpec;
  up: boolean;
  view: ModelView | null;
  lastPc: LastPc | null;
  seqno: number;
}

export type ViewChange = { kind: 'view'; view: ModelView; reason: string } | { kind: 'no_merge'; members: readonly string[]; primaries: readonly number[] };

export type BootstrapResult = { kind: 'bootstrapped'; view: ModelView; from: ModelView; lastPc: LastPc | null } | { kind: 'ignored'; reason: 'primary' | 'down' };

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
      this.nodes.set(s.name, { spec: s, up: true, view: null, lastPc: null, seqno: 0 });
    }
    this.order = specs.map((s) => s.name).sort();
    // The cluster starts healthy: one Primary component of every node, as after a bootstrap.
    const view = this.newView(this.order, true);
    const pc = { id: view.id, members: view.members };
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

  weight(members: Iterable<string>): number {
    let w = 0;
    for (const m of members) w += this.node(m).spec.weight;
    return w;
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

  /** The group communication layer has noticed the current links: install the views they give. */
  reconfigure(): ViewChange[] {
    const changes: ViewChange[] = [];
    for (const piece of this.pieces()) {
      const first = this.node(piece[0] as string).view;
      if (first && sameMembers(first.members, piece) && piece.every((m) => this.node(m).view === first)) continue;
      changes.push(...this.formPiece(piece));
    }
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
    const last = this.newestLastPc(piece);
    if (!last) return [this.install(piece, false, null, 'no member remembers a primary component')];
    const inLast = piece.filter((m) => last.members.includes(m));
    const quorum = this.weight(inLast) * 2 > this.weight(last.members);
    const reason = `${quorum ? 'holds' : 'holds only'} ${this.weight(inLast)} of ${this.weight(last.members)} of last primary ${last.id}`;
    return [this.install(piece, quorum, quorum ? this.maxSeqno(inLast) : null, reason)];
  }

  /** `SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'` on one node. */
  pcBootstrap(name: string): BootstrapResult {
    const n = this.node(name);
    if (!n.up || !n.view) return { kind: 'ignored', reason: 'down' };
    if (n.view.primary) return { kind: 'ignored', reason: 'primary' };
    const from = n.view;
    const lastPc = n.lastPc;
    const members = [...from.members];
    const ch = this.install(members, true, this.maxSeqno(members), `pc.bootstrap on ${name}`);
    return { kind: 'bootstrapped', view: (ch as { view: ModelView }).view, from, lastPc };
  }

  /** mariadbd dies and stays down; the others notice at the next reconfigure. */
  kill(name: string): void {
    const n = this.node(name);
    n.up = false;
    n.view = null;
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
    const v = n.view;
    return {
      clusterStatus: v.primary ? 'Primary' : 'non-Primary',
      localState: v.primary ? 'Synced' : 'Initialized',
      ready: v.primary,
      connected: true,
      clusterSize: v.members.length,
      stateUuid: this.stateUuid,
      confId: v.primary ? v.id : null,
      lastCommitted: n.seqno,
      nodeUuid: n.spec.uuid,
      members: v.members.map((m) => this.member(m)),
      lastPrimary: n.lastPc ? { viewId: this.pcViewId(n.lastPc), members: n.lastPc.members.map((m) => this.node(m).spec.uuid) } : null,
    };
  }

  /** The primary component a reported `lastPrimary.viewId` names. */
  pcByViewId(viewId: string): LastPc | undefined {
    return this.pcs.get(viewId);
  }

  /** gvwstate.dat writes `view_id: <type> <representative uuid> <seq>`. */
  pcViewId(pc: LastPc): string {
    const rep = pc.members[0];
    return `3 ${rep ? this.node(rep).spec.uuid : '-'} ${pc.id}`;
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
    return { uuid: s.uuid, name: s.name, address: s.address };
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
    const pc = { id: view.id, members: view.members };
    if (primary) this.pcs.set(this.pcViewId(pc), pc);
    for (const m of view.members) {
      const n = this.node(m);
      n.view = view;
      if (primary) {
        n.lastPc = pc;
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
