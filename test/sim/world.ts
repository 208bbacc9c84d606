import { RECORD_KEYS, TRUSTED_MEMORY } from '../../src/roles/arbitrator/records.js';
import { type Clock, SimClock, type TimerHandle } from '../../src/correspondents/clock.js';
import { type MemoryEndpoint, MemoryNetwork, type NetworkFaults } from '../../src/correspondents/memory-network.js';
import type { Address, Transport } from '../../src/correspondents/transport.js';
import { type Inbound, PostOffice } from '../../src/correspondents/post-office.js';
import { Keyring } from '../../src/protocol/keys.js';
import { type PartyId, partyType } from '../../src/protocol/party.js';
import { type DbStatusReport, type Directives, type MakePrimary, VERBS, type Verb, type WsrepNotify } from '../../src/protocol/verbs.js';
import { viewKey, viewOf } from '../../src/protocol/view.js';
import type { DesiredLb, ObservedServer } from '../../src/roles/dbclient/lb/types.js';
import type { Reading } from '../../src/roles/dbserver/reading.js';
import { type Rng, seededRng } from '../../src/util/rng.js';
import { Checker } from './checks.js';
import { DurableMap } from './durable.js';
import { GaleraModel, type ModelView, type ViewChange } from './galera-model.js';
import { type PostTaps, type RoleBinding, type SimServices, type StartedRole, TappedPostOffice } from './party.js';
import { SimLoadBalancer } from './sim-lb.js';
import { ARBITRATOR, type Dc, DCS, OPERATOR_HOST, SITE, type SimSite } from './site.js';
import { Trace } from './trace.js';

/** How long Galera takes to notice a cut or a heal (docs/lab.md: short evs timeouts, and the defaults). */
export interface DetectionProfile {
  name: string;
  cutMs: readonly [number, number];
  healMs: readonly [number, number];
}

export const DETECTION: readonly DetectionProfile[] = [
  { name: 'short evs', cutMs: [3100, 3500], healMs: [4900, 8500] },
  { name: 'default evs', cutMs: [6000, 6600], healMs: [6000, 7000] },
];

export interface Bindings {
  arbitrator: RoleBinding;
  dbserver: RoleBinding;
  dbclient: RoleBinding;
}

export interface WorldOptions {
  seed: number;
  site: SimSite;
  bindings: Bindings;
  trace: boolean;
  faults: NetworkFaults;
  detection: DetectionProfile;
  /** Probability that one pc.bootstrap fails with EAGAIN (docs/lab.md: it can, after some outages). */
  eagain: number;
  /**
   * Time between the dbserver's decision to run pc.bootstrap and Galera carrying it out. 0 in
   * the CI runs: the real dbserver reads its view and runs SET GLOBAL back to back, and Galera
   * offers no compare-and-bootstrap, so this window is inherent; docs/simulator.md.
   */
  toctouMs: number;
  /** Each party's clock is off the simulated time by up to this much, either way. */
  clockSkewMs: number;
  /**
   * 0: Galera installs a view at once when it notices the links. Otherwise the change is open
   * (gcomm in trans/state exchange, pc.bootstrap ignored) for up to this many ms first.
   */
  viewChangeMs?: number;
  /** 0: SHOW STATUS shows a new view at once. Otherwise each member shows it up to this many ms later. */
  showLagMs?: number;
  /** CheckOptions.absoluteValidity. */
  absoluteValidity?: boolean;
}

export const T0 = 1_750_000_000_000;

interface Live {
  post: PostOffice;
  role: StartedRole;
  incarnation: number;
}

/**
 * One address, one or two processes: a VIP failover or a cloned VM gives a second arbitrator the
 * same address (issue 11, path 4). Both send from it; what arrives goes to the process that
 * holds the address now (ARP), or, while both claim it, to either, by the seed.
 */
class SharedAddress {
  private readonly views: Array<{ handler: ((buf: Buffer, from: Address) => void) | null; closed: boolean }> = [];
  private ep: MemoryEndpoint | null = null;
  private readonly latest = { first: -1, twin: -1 };
  /** Which process receives what arrives: the first, the twin, or either by a coin (both claim the address). */
  owner: 'first' | 'twin' | 'either' = 'first';

  constructor(
    private readonly net: MemoryNetwork,
    private readonly address: Address,
    private readonly rng: Rng,
  ) {}

  open(kind: 'first' | 'twin'): Transport {
    if (!this.ep) {
      this.ep = this.net.endpoint(this.address.address, this.address.port);
      this.ep.onReceive((buf, from) => this.deliver(buf, from));
    }
    const v: { handler: ((buf: Buffer, from: Address) => void) | null; closed: boolean } = { handler: null, closed: false };
    this.views.push(v);
    this.latest[kind] = this.views.length - 1;
    // A process that starts takes the address over (gratuitous ARP, a VIP moving to it).
    this.owner = kind;
    const ep = this.ep;
    return {
      local: this.address,
      send: (buf, to) => {
        if (!v.closed) ep.send(buf, to);
      },
      onReceive: (h) => {
        v.handler = h;
      },
      close: async () => {
        v.closed = true;
      },
    };
  }

  private deliver(buf: Buffer, from: Address): void {
    const alive = (i: number) => {
      const v = this.views[i];
      return v && !v.closed && v.handler ? v : null;
    };
    const first = alive(this.latest.first);
    const twin = alive(this.latest.twin);
    let target = this.owner === 'first' ? (first ?? twin) : this.owner === 'twin' ? (twin ?? first) : null;
    if (this.owner === 'either') target = first && twin ? (this.rng.next() < 0.5 ? first : twin) : (first ?? twin);
    target?.handler?.(buf, from);
  }
}

class SimParty {
  durable = new DurableMap();
  live: Live | null = null;
  /** A second process with the same identity and address (a duplicate arbitrator), with its own state. */
  twin: { durable: DurableMap; live: Live | null } | null = null;
  /** Crash right after the next persist, before the step's later effects (sends) are carried out. */
  crashAfterPersist = false;
  crashes = 0;

  constructor(
    readonly id: PartyId,
    readonly binding: RoleBinding,
    readonly clock: Clock,
  ) {}
}

export const DEFAULT_VIEW_CHANGE_MS = 0;

/** What the simulated operator types after `minder command`. */
export type OperatorVerb = 'drain' | 'undrain' | 'pause' | 'resume' | 'promote' | 'withdraw';

/**
 * The simulated site: one SimClock, one seeded MemoryNetwork between the party hosts, a Galera
 * model behind the dbservers, a load balancer behind each dbclient, and every party running its
 * REAL decision core in a RoleHost over a PostOffice, exactly as its daemon does. The schedule
 * (schedule.ts) drives faults through the methods below; the checker watches every step.
 */
export class World implements SimServices {
  readonly clock = new SimClock(T0);
  readonly net: MemoryNetwork;
  readonly model: GaleraModel;
  readonly trace: Trace;
  readonly checker: Checker;
  readonly site: SimSite;
  readonly burned = new Set<PartyId>();
  private readonly parties = new Map<PartyId, SimParty>();
  private readonly lbs = new Map<PartyId, SimLoadBalancer>();
  /** Each party's clock offset from the simulated time; a clock step changes it. */
  readonly clockOffset = new Map<PartyId, number>();
  private readonly shared = new Map<PartyId, SharedAddress>();
  /** Backups of a party's state file, by name: an old copy restored later. */
  private readonly backups = new Map<string, DurableMap>();
  private readonly lastHookInc = new Map<string, number>();
  private hookRuns = 0;
  private readonly keyring: Keyring;
  private readonly rng: Rng;
  private readonly postRng: Rng;
  /** Network cuts that outlive a heal: a burned DC stays gone. */
  private readonly permanentCuts: Array<{ a: string[]; b: string[] }> = [];
  /** Every directed host pair the minder network drops now (`from>to`). */
  private readonly netBlocked = new Set<string>();
  private opCount = 0;
  /** Operator commands still waiting for a reply: a newer command waits for them (see settle). */
  private readonly opsInFlight = new Map<string, () => void>();
  private readonly opQueue: Array<{ verb: OperatorVerb; fields: Record<string, unknown> }> = [];
  /** When (elapsed ms) each dbserver's latest report with wsrep status reached the arbitrator. */
  readonly heardByArbitrator = new Map<PartyId, number>();
  /** When (elapsed ms) Galera last installed a view. */
  lastViewChangeAt = 0;
  readonly stats = { crashes: 0, reconfigurations: 0, viewChanges: 0, hookPushes: 0, operatorCommands: 0, operatorReplies: 0, eagain: 0, windowBootstraps: 0 };

  constructor(readonly o: WorldOptions) {
    this.site = o.site;
    this.rng = seededRng(o.seed ^ 0x5bd1e995);
    this.postRng = seededRng(o.seed ^ 0x27d4eb2f);
    this.net = new MemoryNetwork(this.clock, seededRng(o.seed ^ 0x165667b1), o.faults);
    this.model = new GaleraModel(o.site.nodes, `5eed${(o.seed >>> 0).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`);
    this.trace = new Trace(o.trace, T0, () => this.clock.now());
    this.checker = new Checker(o.site, this.model, this.trace, () => this.elapsed(), {
      offset: (id) => this.clockOffset.get(id) ?? 0,
      absoluteValidity: o.absoluteValidity ?? false,
      origin: T0,
    });
    const secret = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) secret[i] = Math.floor(this.rng.next() * 256);
    this.keyring = new Keyring([{ id: 1, secret }], 1);
    const ids: PartyId[] = [...(o.site.arbitrators ?? [ARBITRATOR]), ...o.site.dbservers, ...o.site.dbclients];
    for (const id of ids) {
      this.clockOffset.set(id, Math.round((this.rng.next() * 2 - 1) * o.clockSkewMs));
      const clock: Clock = { now: () => Math.floor(this.clock.now()) + (this.clockOffset.get(id) ?? 0), setTimer: (ms, fn) => this.clock.setTimer(ms, fn) };
      this.parties.set(id, new SimParty(id, o.bindings[partyType(id) as keyof Bindings], clock));
      // The arbitrator was installed on a healthy site before the episode: its records are trusted
      // (a state file lost later is a blank one, and relearns as the daemon's would).
      if (partyType(id) === 'arbitrator') this.parties.get(id)?.durable.put(RECORD_KEYS.memory, TRUSTED_MEMORY);
    }
    for (const c of o.site.dbclients) this.lbs.set(c, new SimLoadBalancer());
  }

  elapsed(): number {
    return this.clock.now() - T0;
  }

  get failed(): boolean {
    return this.checker.failed;
  }

  /** Starts every party and the cluster's write load. */
  start(): void {
    for (const id of this.parties.keys()) this.startParty(id);
    const writes = (): void => {
      this.model.commit(1);
      this.checkRoutes();
      this.clock.setTimer(500, writes);
    };
    this.clock.setTimer(500, writes);
  }

  /** Since when each dbclient's load balancer has served a server whose node is not Primary. */
  private readonly badRoutes = new Map<string, number>();

  /**
   * Traffic reaches only Primary nodes, within a bound: a server that a running dbclient's
   * reachable load balancer serves (ready, in either backend) while its node is down or
   * non-Primary must be taken out within the time it takes to learn it — the report that says so
   * (SHOW STATUS's lag, the wire's delay, resends), or, with no report, the server going stale.
   * A dbclient that is down cannot take anything out, nor one whose load balancer it cannot reach:
   * neither is judged (docs/simulator.md, "Limits").
   */
  private checkRoutes(): void {
    const t = this.site.config.timings;
    const bound = t.staleAfter + t.ackTimeout + (this.o.showLagMs ?? 0) + 2000;
    const now = this.elapsed();
    for (const [client, lb] of this.lbs) {
      const judged = this.isUp(client) && lb.reachable;
      for (const server of this.site.dbservers) {
        const key = `${client}>${server}`;
        const node = this.nodeOf(server);
        const serving = lb.stateOf('write', server) === 'ready' || lb.stateOf('read', server) === 'ready';
        if (!judged || !serving || (this.model.isUp(node) && this.model.view(node)?.primary)) {
          this.badRoutes.delete(key);
          continue;
        }
        const since = this.badRoutes.get(key) ?? now;
        this.badRoutes.set(key, since);
        if (now - since > bound) {
          this.checker.violation(
            'stale_route',
            `${client}'s load balancer has served ${server} for ${now - since} ms while ${node} is ${this.model.isUp(node) ? 'non-Primary' : 'down'} (bound ${bound} ms)`,
          );
          this.badRoutes.set(key, now);
        }
      }
    }
  }

  // --- parties ---------------------------------------------------------------------------------

  isUp(id: PartyId): boolean {
    return this.parties.get(id)?.live != null;
  }

  partyIds(): PartyId[] {
    return [...this.parties.keys()];
  }

  roleState(id: PartyId): unknown {
    return this.parties.get(id)?.live?.role.state();
  }

  startParty(id: PartyId): void {
    const p = this.party(id);
    if (p.live || this.burned.has(id)) return;
    this.launch(
      p,
      p.durable,
      () => p.live,
      (l) => {
        p.live = l;
      },
      (why) => this.crashParty(id, why),
      '',
    );
  }

  /**
   * A second process of `id` (the same identity and address, its own copy of the state file as
   * it was at `from`: 'now', or a backup's name) starts beside the first: a duplicate arbitrator.
   */
  startTwin(id: PartyId, from: string): void {
    const p = this.party(id);
    if (p.twin?.live || this.burned.has(id)) return;
    const durable = from === 'now' ? p.durable.copy() : (this.backups.get(from)?.copy() ?? new DurableMap());
    const twin: { durable: DurableMap; live: Live | null } = { durable, live: null };
    p.twin = twin;
    this.launch(
      p,
      durable,
      () => twin.live,
      (l) => {
        twin.live = l;
      },
      (why) => this.stopTwin(id, why),
      ' (twin)',
    );
  }

  stopTwin(id: PartyId, why: string): void {
    const p = this.party(id);
    const live = p.twin?.live;
    if (!p.twin || !live) return;
    p.twin.live = null;
    live.role.stop();
    void live.post.close();
    this.trace.add(id, `twin CRASH (${why})`);
  }

  /** Which process of a party with a twin receives what is sent to their address. */
  setAddressOwner(id: PartyId, owner: 'first' | 'twin' | 'either'): void {
    const sh = this.shared.get(id);
    if (sh) sh.owner = owner;
    this.trace.add(id, `address now delivered to ${owner === 'either' ? 'either process' : `the ${owner} process`}`);
  }

  private transportFor(id: PartyId, addr: Address, twin: boolean): Transport {
    let sh = this.shared.get(id);
    if (!sh && !twin && partyType(id) !== 'arbitrator') return this.net.endpoint(addr.address, addr.port);
    if (!sh) {
      sh = new SharedAddress(this.net, addr, this.rng);
      this.shared.set(id, sh);
    }
    return sh.open(twin ? 'twin' : 'first');
  }

  private launch(p: SimParty, store: DurableMap, current: () => Live | null, set: (l: Live) => void, crash: (why: string) => void, label: string): void {
    const id = p.id;
    // Each process has its own monotonic clock, anchored to its wall clock when it starts: a later
    // clock step moves the wall clock (now) and never this one (src/correspondents/clock.ts).
    const anchor = this.clockOffset.get(id) ?? 0;
    const clock: Clock = { now: p.clock.now, monotonic: () => Math.floor(this.clock.now()) + anchor, setTimer: p.clock.setTimer };
    const incarnation = store.nextIncarnation();
    const addr = this.site.directory.get(id);
    if (!addr) throw new Error(`${id} has no address`);
    const post = new TappedPostOffice(
      {
        self: id,
        site: SITE,
        keyring: this.keyring,
        transport: this.transportFor(id, addr, label !== ''),
        clock,
        rng: this.postRng,
        incarnation,
        directory: (x) => this.site.directory.get(x),
        ackTimeoutMs: this.site.config.timings.ackTimeout,
        staleAfterMs: this.site.config.timings.staleAfter,
        maxClockSkewMs: this.site.config.timings.maxClockSkew,
        logger: this.trace.logger(id),
      },
      this.taps,
    );
    store.afterPut = (key) => {
      if (label !== '' || !p.crashAfterPersist || !current()) return;
      p.crashAfterPersist = false;
      crash(`right after persisting ${key}, before the rest of that step`);
    };
    const durable = {
      put: (key: string, value: unknown) => {
        try {
          store.put(key, value);
        } catch (err) {
          this.violation('persist_failed', `${id}: ${(err as Error).message}`);
        }
      },
      get: <T>(key: string) => store.get<T>(key),
    };
    const party = this.site.config.parties.find((x) => x.id === id);
    if (!party) throw new Error(`${id} is not in the site config`);
    this.trace.add(id, `start${label}, incarnation ${incarnation}`);
    // Live before the role starts, so a crash during its first step finds it.
    const live: Live = { post, role: { stop: () => {}, state: () => undefined }, incarnation };
    const ctx = {
      self: id,
      site: this.site,
      config: this.site.config,
      party,
      clock,
      post,
      durable,
      logger: this.trace.logger(id),
      incarnation,
      sim: this,
    };
    set(live);
    live.role = p.binding(ctx);
    if (current() !== live) live.role.stop();
  }

  /**
   * The party's state file is lost (deleted, the host rebuilt: 'empty', incarnation counter
   * included) or replaced by an old copy ('backup:<name>'); the party must be down.
   */
  replaceState(id: PartyId, how: 'empty' | string): void {
    const p = this.party(id);
    if (p.live) this.crashParty(id, 'state file replaced under it');
    p.durable = how === 'empty' ? new DurableMap() : (this.backups.get(how)?.copy() ?? new DurableMap());
    this.trace.add(id, how === 'empty' ? 'STATE FILE LOST (a new, empty one at the next start)' : `STATE FILE RESTORED from backup ${how}`);
  }

  /** A backup of the party's state file as it is now. */
  backupState(id: PartyId, name: string): void {
    this.backups.set(name, this.party(id).durable.copy());
    this.trace.add(id, `state file backed up as ${name}`);
  }

  /** The party's wall clock steps by `ms` (NTP, an operator, a VM resumed). */
  stepClock(id: PartyId, ms: number): void {
    this.clockOffset.set(id, (this.clockOffset.get(id) ?? 0) + ms);
    this.trace.add(id, `CLOCK STEP ${ms > 0 ? '+' : ''}${ms} ms (now ${this.clockOffset.get(id)} ms off)`);
  }

  /** The process dies: timers, queue and sockets go; only what was persisted stays. */
  crashParty(id: PartyId, why: string): void {
    const p = this.party(id);
    const live = p.live;
    if (!live) return;
    p.live = null;
    p.crashes++;
    this.stats.crashes++;
    live.role.stop();
    void live.post.close();
    this.trace.add(id, `CRASH (${why})`);
  }

  /**
   * Crash right after the party's next persist, before the rest of that step's effects; if it
   * persists nothing within `windowMs`, crash then, between two steps.
   */
  armCrashAfterPersist(id: PartyId, windowMs: number): void {
    const p = this.party(id);
    if (!p.live) return;
    p.crashAfterPersist = true;
    const inc = p.live.incarnation;
    this.clock.setTimer(windowMs, () => {
      if (!p.crashAfterPersist || p.live?.incarnation !== inc) return;
      p.crashAfterPersist = false;
      this.crashParty(id, `no persist within ${windowMs} ms of arming`);
    });
  }

  disarmCrash(id: PartyId): void {
    this.party(id).crashAfterPersist = false;
  }

  private party(id: PartyId): SimParty {
    const p = this.parties.get(id);
    if (!p) throw new Error(`no party ${id} in the simulation`);
    return p;
  }

  private readonly taps: PostTaps = {
    inbound: (self: PartyId, m: Inbound) => {
      const type = partyType(self);
      if (type === 'arbitrator') {
        this.checker.arbitratorInbound(m, self);
        if (m.verb === 'db_status_report' && (m.body as DbStatusReport).wsrep) this.heardByArbitrator.set(m.from, this.elapsed());
      } else if (type === 'dbclient') this.checker.dbclientInbound(self, m);
      else if (type === 'dbserver') this.checker.dbserverInbound(self, m);
      if (this.trace.enabled && m.verb !== 'client_status_report') this.trace.add(self, `<- ${m.from} ${m.verb} ${summarise(m.verb, m.body)}`);
    },
    handled: (self: PartyId, m: Inbound) => {
      if (partyType(self) === 'arbitrator') this.checker.arbitratorHandled(m);
    },
    outbound: (self: PartyId, to: PartyId, verb: Verb, body: unknown) => {
      if (partyType(self) === 'arbitrator') {
        // Which operator request, if any, the sender's record of this decision names: the checker
        // credits it only if it saw that request reach an arbitrator (checks.ts, rule 6).
        // (Read from what it persisted, which goes before the send: at a restart the resend leaves
        // before the process counts as started. Either copy, with a twin.)
        const id = verb === 'make_primary' ? (body as MakePrimary).decisionId : null;
        const p = this.parties.get(self);
        const records = id === null || !p ? [] : [p.durable, p.twin?.durable].flatMap((d) => d?.get<Array<{ id: string; requestId: string | null }>>(RECORD_KEYS.decisions) ?? []);
        const requestId = records.find((d) => d.id === id)?.requestId ?? null;
        this.checker.arbitratorOutbound(to, verb, body, self, requestId);
      }
      if (this.trace.enabled && (verb === 'make_primary' || verb === 'directives' || verb === 'command_reply')) {
        this.trace.add(self, `-> ${to} ${verb} ${summarise(verb, body)}`);
      }
    },
  };

  // --- services for the executors (SimServices) ------------------------------------------------

  later(self: PartyId, ms: number, fn: () => void): void {
    const inc = this.parties.get(self)?.live?.incarnation;
    this.clock.setTimer(ms, () => {
      // A process that died meanwhile never sees the answer.
      if (this.parties.get(self)?.live?.incarnation === inc) fn();
    });
  }

  latency(kind: 'read' | 'bootstrap' | 'lb'): number {
    const [lo, hi] = kind === 'read' ? [1, 20] : kind === 'bootstrap' ? [1, 50] : [1, 30];
    return lo + Math.floor(this.rng.next() * (hi - lo + 1));
  }

  readNode(self: PartyId, seq: number, at: number): Reading {
    const node = this.nodeOf(self);
    const w = this.model.reading(node);
    if (!w) return { seq, at, mariadb: 'down', membersFrom: 'none', wsrep: null, recovered: null, error: 'connect ECONNREFUSED (mariadbd is down)' };
    return { seq, at, mariadb: 'up', membersFrom: 'server', wsrep: w, recovered: null, error: null };
  }

  bootstrapNode(self: PartyId, decisionId: string, done: (error: string | null) => void): void {
    const node = this.nodeOf(self);
    // Rule 8 is the dbserver's check of what it can see: it is judged on what SHOW STATUS shows
    // when the dbserver issues the statement, against the make_primary as it was delivered (not
    // what the dbserver kept of it). Galera applies the statement to the view the node is in when
    // it takes effect; a change in between is the read-then-bootstrap window (docs/safety.md),
    // counted below and judged by the safety checks (all-faults seed 697776).
    const issuedIn = this.model.reading(node);
    if (issuedIn && issuedIn.clusterStatus !== 'Primary') this.checker.beforeBootstrap(self, node, viewOf(issuedIn), decisionId, this.checker.delivered(self, decisionId));
    const run = (): string | null => {
      const w = this.model.reading(node);
      if (!w) return 'connect ECONNREFUSED (mariadbd is down)';
      if (this.rng.next() < this.o.eagain) {
        this.stats.eagain++;
        this.trace.add(self, `pc.bootstrap on ${node}: EAGAIN`);
        return 'ER_WRONG_ARGUMENTS: Incorrect arguments to SET: Resource temporarily unavailable (EAGAIN)';
      }
      if ((this.o.showLagMs ?? 0) > 0) for (const m of this.model.view(node)?.members ?? []) this.model.freezeShown(m);
      const r = this.model.pcBootstrap(node);
      this.trace.add(self, r.kind === 'bootstrapped' ? `pc.bootstrap on ${node}: #${r.from.id} → Primary #${r.view.id}{${r.view.members.join(',')}}` : `pc.bootstrap on ${node} ignored (${r.reason})`);
      const shown = issuedIn?.members.map((m) => m.name).join(',');
      if (r.kind === 'bootstrapped' && shown !== r.from.members.join(',')) {
        this.stats.windowBootstraps++;
        this.trace.add(self, `read-then-bootstrap window: issued while SHOW STATUS showed {${shown}}, applied to view #${r.from.id}{${r.from.members.join(',')}}`);
      }
      this.checker.afterBootstrap(self, r, decisionId);
      if (r.kind === 'bootstrapped') this.viewsChanged([{ kind: 'view', view: r.view, reason: 'pc.bootstrap' }]);
      return null;
    };
    // The statement takes effect `toctouMs` after the reading that decided it (0 in the CI runs,
    // see WorldOptions.toctouMs), and returns a little later.
    const answer = this.latency('bootstrap');
    if (this.o.toctouMs <= 0) {
      const error = run();
      this.later(self, answer, () => done(error));
      return;
    }
    this.later(self, this.o.toctouMs, () => {
      const error = run();
      this.later(self, answer, () => done(error));
    });
  }

  lbWanted(self: PartyId, desired: DesiredLb): void {
    this.checker.lbWanted(self, desired);
  }

  lbApply(self: PartyId, desired: DesiredLb): string[] | null {
    const lb = this.lbs.get(self);
    if (!lb?.reachable) return null;
    const cmds = lb.apply(desired);
    if (this.trace.enabled && cmds.length > 0) this.trace.add(self, `LB: ${cmds.join('; ')}`);
    return cmds;
  }

  lbObserve(self: PartyId): ObservedServer[] | null {
    const lb = this.lbs.get(self);
    return lb?.reachable ? lb.observe() : null;
  }

  violation(kind: string, text: string): void {
    this.checker.violation(kind, text);
  }

  // --- Galera ----------------------------------------------------------------------------------

  nodeOf(self: PartyId): string {
    const n = this.site.nodeOf.get(self);
    if (!n) throw new Error(`${self} has no Galera node`);
    return n;
  }

  nodesIn(dc: Dc): string[] {
    return this.site.dbservers.filter((s) => this.site.dcOf.get(s) === dc).map((s) => this.nodeOf(s));
  }

  /** The group communication layer notices link changes only after its detection delay. */
  private linksChanged(kind: 'cut' | 'heal'): void {
    const [lo, hi] = kind === 'cut' ? this.o.detection.cutMs : this.o.detection.healMs;
    this.clock.setTimer(lo + this.rng.next() * (hi - lo), () => this.viewChange());
  }

  /**
   * evs has agreed a new membership. With a view-change window, gcomm is between views for a
   * while first (pc.bootstrap ignored there); then the views are installed.
   */
  private viewChange(): void {
    const window = this.o.viewChangeMs ?? 0;
    if (window <= 0) {
      this.reconfigure();
      return;
    }
    const changing = this.model.beginChange();
    if (changing.length === 0) return;
    this.trace.add('galera', `view change begins on ${changing.join(',')} (pc.bootstrap ignored until it ends)`);
    this.clock.setTimer(1 + Math.floor(this.rng.next() * window), () => this.reconfigure());
  }

  private reconfigure(): void {
    this.stats.reconfigurations++;
    const lag = (this.o.showLagMs ?? 0) > 0;
    // What SHOW STATUS showed before: it may keep showing it a little longer, per node.
    if (lag) for (const n of this.model.names) this.model.freezeShown(n);
    const changes = this.model.reconfigure();
    for (const c of changes) {
      if (c.kind === 'no_merge') this.trace.add('galera', `primaries ${c.primaries.join(' and ')} do not merge (split brain)`);
      else this.trace.add('galera', `view #${c.view.id} ${c.view.primary ? 'Primary' : 'non-Primary'} {${c.view.members.join(',')}}: ${c.reason}`);
    }
    this.checker.afterModelChange();
    this.viewsChanged(changes);
    if (lag) {
      const changed = new Set(changes.flatMap((c) => (c.kind === 'view' ? c.view.members : [])));
      for (const n of this.model.names) if (!changed.has(n)) this.model.show(n);
    }
  }

  /**
   * mariadbd processes each new view (SHOW STATUS changes, wsrep_notify_cmd runs on every member,
   * the hook pushes to its dbserver) at once, or up to showLagMs later per member.
   */
  private viewsChanged(changes: readonly ViewChange[]): void {
    const lagMs = this.o.showLagMs ?? 0;
    for (const c of changes) {
      if (c.kind !== 'view') continue;
      this.stats.viewChanges++;
      this.lastViewChangeAt = this.elapsed();
      for (const [index, node] of c.view.members.entries()) {
        const server = this.site.serverOf.get(node);
        const process = (): void => {
          if (lagMs > 0) {
            if (this.model.view(node) !== c.view) return; // a later view overtook it; that one's turn comes
            this.model.show(node);
          }
          if (!server || this.burned.has(server)) return;
          this.runHook(node, server, this.notifyBody(c.view, index));
          this.stats.hookPushes++;
        };
        if (lagMs > 0) {
          this.model.freezeShown(node);
          this.clock.setTimer(Math.floor(this.rng.next() * lagMs), process);
        } else process();
      }
    }
  }

  private notifyBody(view: ModelView, index: number): WsrepNotify {
    const members = view.members.map((m) => {
      const s = this.model.spec(m);
      return { uuid: this.model.uuid(m), name: s.name, address: s.address };
    });
    const status = view.primary ? 'synced' : 'connected';
    const memberArg = members.map((m) => `${m.uuid}/${m.name}/${m.address}`).join(',');
    return {
      status,
      uuid: this.model.stateUuid,
      primary: view.primary,
      index,
      members,
      argv: ['--status', status, '--uuid', this.model.stateUuid, '--primary', view.primary ? 'yes' : 'no', '--index', String(index), '--members', memberArg],
    };
  }

  /**
   * One run of the hook (src/hook/forward.ts): a fresh process whose incarnation is its clock
   * (hooks of one node run one after another, so each starts above the last), sending until
   * acked for at most 300 ms (mariadbd waits for it), then gone: a dbserver that is down
   * misses the push, as it would for real.
   */
  private runHook(node: string, server: PartyId, body: WsrepNotify): void {
    const serial = Number(server.slice(server.indexOf(':') + 1));
    const self: PartyId = `wsrep_notify_cmd:${serial}`;
    const clock = this.party(server).clock;
    const inc = Math.max(clock.now(), (this.lastHookInc.get(node) ?? 0) + 1);
    this.lastHookInc.set(node, inc);
    const post = new PostOffice({
      self,
      site: SITE,
      keyring: this.keyring,
      transport: this.net.endpoint('127.0.0.1', 20000 + (this.hookRuns++ % 40000)),
      clock,
      rng: this.postRng,
      incarnation: inc,
      directory: (x) => this.site.directory.get(x),
      ackTimeoutMs: 100,
      staleAfterMs: this.site.config.timings.staleAfter,
      maxClockSkewMs: this.site.config.timings.maxClockSkew,
      logger: this.trace.logger(self),
    });
    post.publish(server, 'wsrep_notify', body);
    this.clock.setTimer(300, () => void post.close());
  }

  // --- faults (the schedule's vocabulary) --------------------------------------------------------

  /** A symmetric cut between the two DCs: Galera links and the minder network; the arbitrator keeps the links it is told. */
  cutDcs(arbitratorSees: 'both' | Dc | 'none'): void {
    const [a, b] = DCS;
    this.model.cut(this.nodesIn(a), this.nodesIn(b));
    this.netCut(this.site.hostsIn(a), this.site.hostsIn(b));
    const arb = [this.site.hostOf(ARBITRATOR)];
    for (const dc of DCS) if (arbitratorSees !== 'both' && arbitratorSees !== dc) this.netCut(arb, this.site.hostsIn(dc));
    this.linksChanged('cut');
  }

  /**
   * Before anything starts: the site is inside a dc1 | dc2 cut that Galera has already detected
   * (the minder daemons start during an outage), the arbitrator keeping the links it is told.
   */
  startInsideCut(arbitratorSees: 'both' | Dc | 'none'): void {
    const [a, b] = DCS;
    this.model.cut(this.nodesIn(a), this.nodesIn(b));
    this.netCut(this.site.hostsIn(a), this.site.hostsIn(b));
    const arb = [this.site.hostOf(ARBITRATOR)];
    for (const dc of DCS) if (arbitratorSees !== 'both' && arbitratorSees !== dc) this.netCut(arb, this.site.hostsIn(dc));
    for (const c of this.model.reconfigure())
      if (c.kind === 'view') this.trace.add('galera', `view #${c.view.id} ${c.view.primary ? 'Primary' : 'non-Primary'} {${c.view.members.join(',')}}: ${c.reason}`);
    this.checker.afterModelChange();
  }

  /** One node's host loses every link: its Galera node and its dbserver. */
  isolateServer(server: PartyId): void {
    const node = this.nodeOf(server);
    this.model.cut(
      [node],
      this.model.names.filter((n) => n !== node),
    );
    const host = this.site.hostOf(server);
    this.netCut(
      [host],
      this.partyIds()
        .map((p) => this.site.hostOf(p))
        .filter((h) => h !== host),
    );
    this.linksChanged('cut');
  }

  /** Galera traffic from `from` to `to` is lost, the way back works: Galera drops the link. */
  cutDbOneWay(from: readonly PartyId[], to: readonly PartyId[]): void {
    this.model.cut(
      from.map((s) => this.nodeOf(s)),
      to.map((s) => this.nodeOf(s)),
      true,
    );
    this.linksChanged('cut');
  }

  /** Minder datagrams from `from` to `to` are lost, the way back works. */
  cutNetOneWay(from: readonly PartyId[], to: readonly PartyId[]): void {
    this.netCut(
      from.map((p) => this.site.hostOf(p)),
      to.map((p) => this.site.hostOf(p)),
      true,
    );
  }

  /** The arbitrator loses a DC: both ways, or only datagrams towards it ('to') or from it ('from'). */
  cutArbitrator(dc: Dc, direction: 'both' | 'to_arbitrator' | 'from_arbitrator'): void {
    const arb = [this.site.hostOf(ARBITRATOR)];
    const hosts = this.site.hostsIn(dc);
    if (direction === 'both') this.netCut(arb, hosts);
    else if (direction === 'to_arbitrator') this.netCut(hosts, arb, true);
    else this.netCut(arb, hosts, true);
  }

  healAll(): void {
    this.model.heal();
    this.netBlocked.clear();
    this.net.heal();
    for (const c of this.permanentCuts) this.netCut(c.a, c.b);
    this.linksChanged('heal');
  }

  /** Minder datagrams between these hosts are dropped (both ways unless oneWay); kept here so that a heal can be partial. */
  private netCut(a: readonly string[], b: readonly string[], oneWay = false): void {
    for (const x of a) {
      for (const y of b) {
        this.netBlocked.add(`${x}>${y}`);
        if (!oneWay) this.netBlocked.add(`${y}>${x}`);
      }
    }
    this.net.cut(a, b, oneWay);
  }

  /**
   * A partial heal: only Galera's links, only the minder network, or only the links between two
   * groups of parties (Galera and minder); a burned DC stays gone.
   */
  healPartial(what: 'galera' | 'net' | 'between', a: readonly PartyId[] = [], b: readonly PartyId[] = []): void {
    if (what === 'galera') this.model.heal();
    else if (what === 'between') {
      const nodes = (xs: readonly PartyId[]) => xs.filter((x) => this.site.nodeOf.has(x)).map((x) => this.nodeOf(x));
      this.model.heal(nodes(a), nodes(b));
    }
    if (what === 'net' || what === 'between') {
      const ha = new Set(a.map((x) => this.site.hostOf(x)));
      const hb = new Set(b.map((x) => this.site.hostOf(x)));
      const keep = [...this.netBlocked].filter((k) => {
        if (what === 'net') return false;
        const [x, y] = k.split('>') as [string, string];
        return !((ha.has(x) && hb.has(y)) || (hb.has(x) && ha.has(y)));
      });
      this.netBlocked.clear();
      this.net.heal();
      for (const k of keep) {
        const [x, y] = k.split('>') as [string, string];
        this.netCut([x], [y], true);
      }
      for (const c of this.permanentCuts) this.netCut(c.a, c.b);
    }
    if (what !== 'net') this.linksChanged('heal');
  }

  /** mariadbd on this server's node crashes (the others notice after the suspect timeout) and starts again after downMs. */
  restartMariadb(server: PartyId, downMs: number): void {
    const node = this.nodeOf(server);
    if (!this.model.isUp(node) || this.burned.has(server)) return;
    this.model.kill(node);
    this.trace.add('galera', `${node}: mariadbd crashed`);
    this.checker.afterModelChange();
    this.linksChanged('cut');
    this.clock.setTimer(downMs, () => {
      if (this.burned.has(server)) return;
      const c = this.model.restart(node);
      if (!c) return;
      if (c.kind === 'view') this.trace.add('galera', `${node}: mariadbd started, view #${c.view.id} non-Primary alone, incarnation ${this.model.incarnation(node)}`);
      this.viewsChanged([c]);
      this.linksChanged('heal');
    });
  }

  /** The operator sets pc.weight on a live node by hand (the config is not changed). */
  setPcWeight(server: PartyId, weight: number): void {
    this.model.setPcWeight(this.nodeOf(server), weight);
    this.trace.add('galera', `${this.nodeOf(server)}: pc.weight=${weight} (the config says ${this.model.spec(this.nodeOf(server)).weight})`);
  }

  setFaults(f: NetworkFaults): void {
    this.net.faults = f;
  }

  lbOutage(client: PartyId, ms: number): void {
    const lb = this.lbs.get(client);
    if (!lb) return;
    lb.reachable = false;
    this.trace.add(client, `load balancer unreachable for ${ms} ms`);
    this.clock.setTimer(ms, () => {
      lb.reachable = true;
    });
  }

  /** dc3's links to one main DC or to both are cut (Galera and minder). */
  cutDc3(from: 'dc1' | 'dc2' | 'both'): void {
    const dc3 = this.nodesIn('dc3');
    if (dc3.length === 0) return;
    for (const dc of DCS) {
      if (from !== 'both' && from !== dc) continue;
      this.model.cut(dc3, this.nodesIn(dc));
      this.netCut(this.site.hostsIn('dc3'), this.site.hostsIn(dc));
    }
    this.linksChanged('cut');
  }

  /**
   * The operator bootstraps by hand (docs/operations.md: SET GLOBAL pc.bootstrap on a node of the
   * chosen half) after checking that nothing is Primary; minder is not asked. The checks count it
   * as a promotion of the node's last primary component, like one of minder's.
   */
  manualBootstrap(dc: Dc): void {
    // The procedure (docs/operations.md): withdraw every pending decision `status` shows, wait
    // until none of them can still be acted on (validity plus the clock skew bound), check that
    // nothing is Primary, then SET GLOBAL wsrep_provider_options='pc.bootstrap=YES' by hand.
    const st = this.roleState(ARBITRATOR) as { records?: { decisions?: Array<{ id: string; outcome: string; withdrawn?: unknown }> } } | undefined;
    const pending = (st?.records?.decisions ?? []).filter((d) => d.outcome === 'pending' && !d.withdrawn);
    // Before issue 11 path 3 there is no withdraw: the procedure was to check and bootstrap.
    const canWithdraw = 'withdraw' in VERBS;
    // And first a pause (docs/operations.md), so that the arbitrator decides nothing new
    // meanwhile: a half it cannot hear, bootstrapped by hand, is invisible to it. The operator
    // resumes once the site is whole (the settle, in a campaign).
    this.operator('pause', {});
    if (canWithdraw) for (const d of pending) this.operator('withdraw', { decisionId: d.id });
    const t = this.site.config.timings;
    const wait = t.makePrimaryValidFor + t.maxClockSkew + t.ackTimeout;
    this.trace.add(
      'operator',
      `manual bootstrap of ${dc}: paused, withdrew ${(canWithdraw && pending.map((d) => d.id).join(', ')) || 'nothing'}; bootstrapping by hand in ${wait} ms if nothing is Primary then`,
    );
    this.byHand?.cancel();
    this.byHand = this.clock.setTimer(wait, () => {
      this.byHand = null;
      this.bootstrapByHand(dc);
    });
  }

  /** A bootstrap by hand the operator means to run (manualBootstrap), until it runs or is abandoned. */
  private byHand: TimerHandle | null = null;

  private bootstrapByHand(dc: Dc): void {
    if (this.model.primaryViews().length > 0) {
      this.trace.add('operator', `manual bootstrap of ${dc} not done: something is Primary`);
      return;
    }
    const node = this.nodesIn(dc).find((n) => this.model.isUp(n) && this.model.view(n) && !this.model.view(n)?.primary);
    if (!node) return;
    if ((this.o.showLagMs ?? 0) > 0) for (const m of this.model.view(node)?.members ?? []) this.model.freezeShown(m);
    const r = this.model.pcBootstrap(node);
    this.trace.add(
      'operator',
      r.kind === 'bootstrapped' ? `pc.bootstrap by hand on ${node}: #${r.from.id} → Primary #${r.view.id}{${r.view.members.join(',')}}` : `pc.bootstrap by hand on ${node} ignored (${r.reason})`,
    );
    this.checker.afterBootstrap('command:1', r, 'by hand');
    if (r.kind === 'bootstrapped') this.viewsChanged([{ kind: 'view', view: r.view, reason: 'pc.bootstrap by hand' }]);
  }

  /** A DC burns down: its mariadbds die, its parties die for good, its hosts are gone from the network. */
  burnDc(dc: Dc): void {
    for (const n of this.nodesIn(dc)) this.model.kill(n);
    for (const id of this.partyIds()) {
      if (this.site.dcOf.get(id) !== dc) continue;
      this.crashParty(id, `DC ${dc} burned down`);
      this.burned.add(id);
    }
    const hosts = this.site.hostsIn(dc);
    const others = this.partyIds()
      .map((p) => this.site.hostOf(p))
      .filter((h) => !hosts.includes(h));
    this.permanentCuts.push({ a: hosts, b: others });
    this.netCut(hosts, others);
    this.linksChanged('cut');
  }

  // --- the operator ------------------------------------------------------------------------------

  /**
   * One `minder command …` run, as an operator at one terminal types them: one at a time, each
   * resent every second until the arbitrator replies, five times at most.
   */
  operator(verb: OperatorVerb, fields: Record<string, unknown>): void {
    this.opQueue.push({ verb, fields });
    if (this.opsInFlight.size === 0) this.nextOperatorCommand();
  }

  private nextOperatorCommand(): void {
    const op = this.opQueue.shift();
    if (!op) return;
    const { verb, fields } = op;
    const n = ++this.opCount;
    this.stats.operatorCommands++;
    const requestId = `op-${n}`;
    const self: PartyId = 'command:1';
    const post = new PostOffice({
      self,
      site: SITE,
      keyring: this.keyring,
      transport: this.net.endpoint(OPERATOR_HOST, 40000 + n),
      clock: { now: () => Math.floor(this.clock.now()), setTimer: (ms, fn) => this.clock.setTimer(ms, fn) },
      rng: this.postRng,
      // A new process each time, its clock as its incarnation, as the real command's (src/cli/command/client.ts).
      incarnation: Math.floor(this.clock.now()),
      directory: (x) => this.site.directory.get(x),
      ackTimeoutMs: 1000,
      staleAfterMs: this.site.config.timings.staleAfter,
      maxClockSkewMs: this.site.config.timings.maxClockSkew,
      logger: this.trace.logger(self),
    });
    const body = { requestId, operator: 'sim-operator', reason: `simulated ${verb}`, ...fields };
    let replied = false;
    const finish = (next: boolean): void => {
      replied = true;
      this.opsInFlight.delete(requestId);
      void post.close();
      if (next) this.nextOperatorCommand();
    };
    this.opsInFlight.set(requestId, () => finish(false));
    post.onMessage((m) => {
      if (m.verb !== 'command_reply' || (m.body as { requestId: string }).requestId !== requestId || replied) return;
      this.stats.operatorReplies++;
      finish(true);
    });
    this.trace.add('operator', `${verb} ${JSON.stringify(fields)} (${requestId})`);
    const send = (attempt: number): void => {
      if (replied) return;
      if (attempt > 5) {
        this.trace.add('operator', `${requestId}: no reply after 5 tries; gave up`);
        finish(true);
        return;
      }
      // 'withdraw' is a verb once issue 11 path 3 is in (verbs.ts); before that the arbitrator drops it at the edge.
      post.publish(ARBITRATOR, verb as Verb, body as never);
      this.clock.setTimer(1000, () => send(attempt + 1));
    };
    send(1);
  }

  /** The operator gives up on every command still waiting or queued (Ctrl-C). Datagrams already sent may still land. */
  abortOperatorCommands(): void {
    this.opQueue.length = 0;
    // Abandoned too: the bootstrap by hand it meant to run. Left to fire after the settle, it
    // bootstrapped dc2 during the liveness cut while the arbitrator, hearing only dc1, promoted
    // dc1 (campaign seed 65): the operator's second primary, not minder's.
    if (this.byHand) {
      this.byHand.cancel();
      this.byHand = null;
      this.trace.add('operator', 'the bootstrap by hand it meant to run: abandoned');
    }
    for (const [id, finish] of [...this.opsInFlight]) {
      this.trace.add('operator', `${id}: abandoned`);
      finish();
    }
  }

  operatorBusy(): boolean {
    return this.opsInFlight.size > 0 || this.opQueue.length > 0;
  }
}

function summarise(verb: string, body: unknown): string {
  switch (verb) {
    case 'db_status_report': {
      const r = body as DbStatusReport;
      const w = r.wsrep;
      const d = r.decision ? ` decision ${r.decision.id}:${r.decision.outcome}` : '';
      if (!w) return `mariadb ${r.mariadb}${d}`;
      return `${w.clusterStatus} size ${w.clusterSize} seqno ${w.lastCommitted} view ${shortKey(viewKey(viewOf(w)))}${d}`;
    }
    case 'make_primary': {
      const m = body as MakePrimary;
      return `${m.decisionId} view ${shortKey(viewKey(m.view))}${m.forced ? ' FORCED' : ''}`;
    }
    case 'directives': {
      const d = body as Directives;
      return `epoch ${d.epoch} drained [${d.drained.join(',')}]${d.paused ? ' paused' : ''} writer ${d.writer ?? '-'}`;
    }
    case 'wsrep_notify': {
      const n = body as WsrepNotify;
      return `${n.status} primary=${n.primary} members=${n.members?.length ?? '-'}`;
    }
    default:
      return JSON.stringify(body).slice(0, 160);
  }
}

/** View keys carry full uuids; the trace shows the first 8 hex digits of each. */
function shortKey(k: string): string {
  return k.replace(/([0-9a-f]{8})-[0-9a-f-]{27}/g, '$1');
}
