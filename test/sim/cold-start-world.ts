import type { DatadirReport, DbStatusReport } from '../../src/protocol/verbs.js';
import type { CommonEffect } from '../../src/roles/core.js';
import { ArbDriver, type Node, nonPrimary, PARTY, primary, publishes, settingsFor, U } from '../unit/arbitrator-fixtures.js';

/**
 * The simulator's cold-start model (issue 12, "What it must show"): a site of four mariadbd whose
 * datadirs are modelled as Galera keeps them (grastate.dat's seqno and safe_to_bootstrap, gvwstate's
 * saved view, InnoDB's durable position that `--wsrep-recover` finds), brought down by a crash of
 * every node, a graceful stop in order, or a mix, sometimes with a datadir emptied; then the real
 * arbitrator core (through the unit fixtures' driver, with its durable records across kill -9
 * restarts at random ticks) brings it back by sending start/bootstrap orders that the model's
 * dbservers carry out. Galera's own behaviour is modelled: pc.recovery re-forms a component once
 * every member of the saved view runs; a started node joins a primary component when one exists
 * (IST/SST to its top) and waits otherwise; a bootstrap forms a component of one.
 *
 * Checked at every step (a violation is returned, never thrown):
 *  - never two primary components at once, and never a bootstrap while one exists;
 *  - never a bootstrap from a node below the highest durable seqno of the history's datadirs;
 *  - no committed transaction lost: a component that forms holds every committed seqno;
 *  - (liveness) with no node missing, the site is Primary with all four again within the ticks,
 *    also when one node's start orders fail once or twice (a pc.recovery round waits for it).
 * A start order that fails leaves its node down and is reported `failed`.
 * Kept in its own files: test/sim's core (world.ts, checks.ts) is not touched.
 */
export const NODES: Node[] = ['n1', 'n2', 'n3', 'n4'];

interface ModelNode {
  up: boolean;
  /** InnoDB's durable position (what --wsrep-recover reports). */
  applied: number;
  /** grastate.dat's seqno: -1 while running and after a crash. */
  grastate: number;
  safe: boolean;
  /** gvwstate.dat's saved primary view (node names), or null (clean stop, never written). */
  gvw: Node[] | null;
  empty: boolean;
  inPrimary: boolean;
}

export interface ColdStartRun {
  seed: number;
  scenario: string;
  violations: string[];
  bootstraps: number;
  /** Start orders that failed (failingStarts). */
  failedStarts: number;
  recovered: boolean;
  ticks: number;
}

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ColdStartOptions {
  maxTicks?: number;
  /** A mutant for the checks' own test: the dbservers report their seqnos mirrored (lowest looks highest). */
  lie?: boolean;
  /**
   * One node's first 0–2 plain start orders fail (its start command errors; the node stays down),
   * drawn from its own stream so the rest of the seed is unchanged. Default on; `false` for none.
   */
  failingStarts?: boolean;
}

export function runColdStart(seed: number, opts: ColdStartOptions = {}): ColdStartRun {
  const maxTicks = opts.maxTicks ?? 120;
  const seen = (x: number): number => (opts.lie && x >= 0 ? 1000 - x : x);
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const nodes = new Map<Node, ModelNode>(NODES.map((n) => [n, { up: true, applied: 100, grastate: -1, safe: false, gvw: [...NODES], empty: false, inPrimary: true }]));
  const node = (n: Node) => nodes.get(n) as ModelNode;
  let top = 100;
  let committed = 100;
  let primaryConf = 5;
  let primaryUp = true;
  const violations: string[] = [];
  let bootstraps = 0;
  let failedStarts = 0;
  const fail = (s: string) => violations.length < 5 && violations.push(s);
  const fr = rng(seed ^ 0x51a27);
  const flaky = { node: NODES[Math.floor(fr() * NODES.length)] as Node, left: opts.failingStarts === false ? 0 : Math.floor(fr() * 3) };

  let d = new ArbDriver({ ...settingsFor(), coldStart: { policy: 'auto', maxAutomatic: 100, windowMs: 3_600_000 } });
  d.start();
  const reportAll = (): CommonEffect[] => {
    const out: CommonEffect[] = [];
    for (const n of NODES) out.push(...report(n));
    return out;
  };
  const members = () => NODES.filter((n) => node(n).inPrimary);
  const report = (n: Node, extra: Partial<DbStatusReport> = {}): CommonEffect[] => {
    const m = node(n);
    if (m.up) {
      if (m.inPrimary) return d.report(n, primary(n, members(), { lastCommitted: m.applied, confId: primaryConf }), extra);
      return d.report(n, nonPrimary(n, [n], { lastCommitted: m.applied }), extra);
    }
    const datadir: DatadirReport = {
      state: m.empty ? 'empty' : 'ok',
      detail: null,
      myUuid: m.gvw && !m.empty ? U[n] : null,
      lastView: m.gvw && !m.empty ? { viewId: `${primaryConf} ${U.n1} 1`, members: m.gvw.map((x) => U[x]).sort() } : null,
      recovered: !m.empty && m.grastate === -1 ? { uuid: STATE, seqno: seen(m.applied) } : null,
      recoverNote: null,
      process: null,
      sst: null,
    };
    return d.report(n, null, { mariadb: 'down', recovered: m.empty ? null : { uuid: STATE, seqno: seen(m.grastate), safeToBootstrap: m.safe }, error: 'ECONNREFUSED', datadir, ...extra });
  };

  // A running site: writes, each durable on its origin and at least one other node.
  reportAll();
  d.advance(1000);
  for (let i = 0, k = 5 + Math.floor(r() * 20); i < k; i++) {
    top++;
    committed = top;
    const origin = pick(NODES);
    const second = pick(NODES.filter((x) => x !== origin));
    for (const n of NODES) node(n).applied = n === origin || n === second || r() < 0.6 ? top : node(n).applied;
  }
  reportAll();
  d.advance(1000);

  // The failure.
  const scenario = pick(['crash_all', 'graceful', 'mixed', 'crash_all_empty'] as const);
  const order = [...NODES].sort(() => r() - 0.5);
  const crash = (n: Node) => Object.assign(node(n), { up: false, inPrimary: false, grastate: -1, safe: false });
  const stop = (n: Node, last: boolean) => {
    const m = node(n);
    // A graceful leave syncs to the component's top first, writes the position, deletes gvwstate.
    Object.assign(m, { up: false, inPrimary: false, applied: Math.max(m.applied, top), grastate: Math.max(m.applied, top), safe: last, gvw: null });
    for (const x of NODES) if (node(x).inPrimary) node(x).gvw = members();
  };
  if (scenario === 'graceful') for (const [i, n] of order.entries()) stop(n, i === order.length - 1);
  else if (scenario === 'mixed') {
    stop(order[0] as Node, false);
    for (const n of order.slice(1)) crash(n);
  } else for (const n of order) crash(n);
  if (scenario === 'crash_all_empty') {
    // An emptied datadir: never the only holder of the top (writes are durable on two nodes).
    const n = pick(NODES);
    Object.assign(node(n), { empty: true, applied: -1, gvw: null });
  }
  primaryUp = false;
  const durableMax = Math.max(...NODES.map((n) => (node(n).empty ? -1 : node(n).applied)));
  if (durableMax < committed) fail(`model: committed ${committed} is on no datadir (${durableMax})`);

  // Bring it back: the arbitrator orders, the model's dbservers and Galera carry out.
  let pending: Array<{ to: Node; id: string; mode: 'start' | 'bootstrap'; at: number }> = [];
  let ticks = 0;
  const formPrimary = (who: Node[], how: string) => {
    if (primaryUp) fail(`${how}: a second primary component beside ${members().join('+')}`);
    primaryUp = true;
    primaryConf++;
    const t = Math.max(...who.map((n) => node(n).applied));
    if (t < committed) fail(`${how}: a component at seqno ${t} below committed ${committed}: transactions lost`);
    top = Math.max(top, t);
    for (const n of who) Object.assign(node(n), { inPrimary: true, applied: top, grastate: -1, safe: false });
  };
  const joinWaiting = () => {
    for (const n of NODES) {
      const m = node(n);
      if (m.up && !m.inPrimary) Object.assign(m, { inPrimary: true, applied: top, empty: false });
    }
    for (const n of NODES) if (node(n).inPrimary) node(n).gvw = members();
  };
  for (; ticks < maxTicks; ticks++) {
    if (NODES.every((n) => node(n).inPrimary)) break;
    // Carry out the orders whose time came (0-2 ticks after they were sent).
    const due = pending.filter((p) => p.at <= ticks);
    pending = pending.filter((p) => p.at > ticks);
    for (const p of due) {
      const m = node(p.to);
      let outcome: 'carried_out' | 'refused' | 'failed' = 'carried_out';
      if (m.up) outcome = 'refused';
      else if (p.mode === 'start' && p.to === flaky.node && flaky.left > 0) {
        flaky.left--;
        failedStarts++;
        outcome = 'failed';
      } else if (p.mode === 'bootstrap') {
        bootstraps++;
        const best = Math.max(...NODES.map((n) => (node(n).empty ? -1 : node(n).applied)));
        if (m.empty || m.applied < best) fail(`bootstrap of ${p.to} at seqno ${m.applied}, below the highest durable ${best}`);
        m.up = true;
        formPrimary([p.to], `bootstrap of ${p.to}`);
        joinWaiting();
      } else {
        m.up = true;
        if (primaryUp) joinWaiting();
        else if (m.gvw) {
          const saved = m.gvw;
          if (saved.every((x) => node(x).up && !node(x).inPrimary && node(x).gvw?.join() === saved.join())) {
            formPrimary(saved, `pc.recovery of ${saved.join('+')}`);
            joinWaiting();
          }
        }
      }
      collect(report(p.to, { decision: { id: p.id, outcome, reason: outcome, at: 0 } }));
    }
    if (r() < 0.08) {
      // kill -9 of the arbitrator: a new process on the same durable records.
      d = d.restart(d.state.incarnation + 1);
      collect(d.start());
    }
    collect(reportAll());
    collect(d.advance(1000));
  }
  function collect(eff: CommonEffect[]): void {
    for (const o of publishes(eff, 'start_mariadb')) {
      const to = NODES.find((n) => PARTY[n] === o.to) as Node;
      if (o.body.mode === 'bootstrap' && (primaryUp || pending.some((p) => p.mode === 'bootstrap' && p.id !== o.body.decisionId)))
        fail(`a bootstrap order to ${to} while ${primaryUp ? 'a primary component exists' : 'another bootstrap is in flight'}`);
      if (!pending.some((p) => p.id === o.body.decisionId && p.to === to)) pending.push({ to, id: o.body.decisionId, mode: o.body.mode, at: ticks + Math.floor(r() * 3) });
    }
  }
  const recovered = NODES.every((n) => node(n).inPrimary);
  if (!recovered) fail(`not back after ${ticks} ticks: ${NODES.map((n) => `${n} ${node(n).up ? (node(n).inPrimary ? 'primary' : 'waiting') : 'down'}`).join(', ')}; ${d.state.coldStart?.note ?? ''}`);
  return { seed, scenario, violations, bootstraps, failedStarts, recovered, ticks };
}

const STATE = '6c5624f0-e740-11f1-badd-cb4543f021a3';
