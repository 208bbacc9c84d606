import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Etcd3, type IKeyValue, type Lease } from 'etcd3';
import type { Logger } from 'pino';
import { assertPrivateFile } from '../../../site/key-files.js';
import type { PartyId } from '../../../protocol/party.js';
import type { EtcdStoreConfig } from '../../../site/schema.js';
import { type ArbitratorRecords, type DecisionRecord, loadArbitratorRecords, RECORD_KEYS } from '../records.js';
import type { JournalEntry } from '../state.js';
import { planDecisionWrite, slotHolders } from './decision-guards.js';
import { EtcdKeys } from './etcd-keys.js';
import { MinderError } from '../../../errors.js';

/**
 * The arbitrator's records in etcd, and the leader election that decides which arbitrator may
 * write them (docs/arbitrator-ha.md). One loop per process:
 *
 *  - not leading: read the leader key; if there is none, try to create it with our lease
 *    (a transaction that succeeds only if it does not exist); else follow: re-read the records
 *    whenever the store's revision moved, every `followInterval` (the hot view);
 *  - leading: the leader key's create_revision is this term's fencing token. Every write is a
 *    transaction that compares the leader key's create_revision with the token, so a leader
 *    whose lease has gone can write nothing; a new decision also needs its last primary
 *    component's slot to be free (or to hold the refused decision it replaces). The term ends
 *    when the lease is lost, when it could not be renewed in time by our own monotonic clock
 *    (keepalive send time + TTL, minus one request timeout), when a write fails, or at stop;
 *  - etcd unreachable or without quorum: every request times out after `requestTimeout`; the
 *    arbitrator is told (`unavailable`), decides nothing, and tries again every second.
 */
export interface LeaderName {
  party: PartyId;
  host: string;
  port: number;
  incarnation: number;
}

export type StoreStatus =
  | { kind: 'leading'; token: number; records: ArbitratorRecords; imported: boolean }
  /** records: null when the store has not changed since the last report. */
  | { kind: 'following'; leader: LeaderName | null; records: ArbitratorRecords | null }
  | { kind: 'unavailable'; problem: string };

export class StoreWriteError extends MinderError {
  declare readonly code: 'STORE_WRITE';
  constructor(message: string) {
    super('STORE_WRITE', message);
  }
}

export interface EtcdStoreOptions {
  cfg: EtcdStoreConfig;
  prefix: string;
  self: LeaderName;
  logger: Logger;
  /** Records from the local state file: copied into an empty etcd by the first leader (moving from local). */
  seed: ArbitratorRecords | null;
  onStatus: (s: StoreStatus) => void;
}

const RETRY_MS = 1000;

export function etcdClient(cfg: EtcdStoreConfig): Etcd3 {
  let credentials: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } | undefined;
  if (cfg.tls) {
    if (cfg.tls.key) assertPrivateFile(cfg.tls.key, 'etcd TLS key');
    credentials = { rootCertificate: readFileSync(cfg.tls.ca) };
    if (cfg.tls.key && cfg.tls.cert) {
      credentials.privateKey = readFileSync(cfg.tls.key);
      credentials.certChain = readFileSync(cfg.tls.cert);
    }
  }
  return new Etcd3({ hosts: cfg.endpoints, dialTimeout: cfg.requestTimeout, ...(credentials ? { credentials } : {}) });
}

function describe(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.replace(/\s+/g, ' ').slice(0, 300);
}

async function timed<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`etcd did not answer ${what} within ${ms} ms (unreachable, or no quorum)`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

const str = (b: Buffer | string): string => (typeof b === 'string' ? b : b.toString('utf8'));

export class EtcdArbitratorStore {
  readonly keys: EtcdKeys;
  private readonly client: Etcd3;
  private stopped = false;
  private lease: Lease | null = null;
  private leaseId: string | null = null;
  private leaseValidUntil = 0;
  private keepaliveFiredAt = 0;
  private token: number | null = null;
  private endTerm: ((why: string) => void) | null = null;
  private loop: Promise<void> | null = null;
  private lastRevision: string | null = null;
  /** decision id → the JSON last written (or read) for it; slot name → decision id in it. */
  private written = new Map<string, string>();
  private slots = new Map<string, string>();
  private journalSeq = 0;

  constructor(private readonly o: EtcdStoreOptions) {
    this.keys = new EtcdKeys(o.prefix);
    this.client = etcdClient(o.cfg);
  }

  get leadingToken(): number | null {
    return this.token;
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.endTerm?.('stopping');
    await this.loop?.catch(() => undefined);
    if (this.lease) await timed('revoke', this.o.cfg.requestTimeout, this.lease.revoke()).catch(() => undefined);
    this.client.close();
  }

  /** Ends the current term (a write failed): the loop steps down and reads the store again. */
  resign(why: string): void {
    this.endTerm?.(why);
  }

  private t<T>(what: string, p: Promise<T>): Promise<T> {
    return timed(what, this.o.cfg.requestTimeout, p);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.ensureLease();
        const leader = await this.readLeader();
        if (leader === null) {
          const token = await this.campaign();
          if (token !== null) {
            await this.lead(token);
            continue;
          }
        }
        await this.follow(leader);
        await this.sleep(this.o.cfg.followInterval);
      } catch (err) {
        if (this.stopped) return;
        this.dropLease();
        this.lastRevision = null;
        this.o.onStatus({ kind: 'unavailable', problem: describe(err) });
        await this.sleep(RETRY_MS);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  private async ensureLease(): Promise<void> {
    if (this.lease && this.leaseId) return;
    const ttl = Math.round(this.o.cfg.leaseTtl / 1000);
    const lease = this.client.lease(ttl);
    // A rejected grant also emits 'lost': nobody may be left listening when it does.
    lease.on('lost', (err) => {
      if (this.lease !== lease) return;
      this.o.logger.warn({ event: 'etcd_lease_lost', err: describe(err) }, `etcd lease lost: ${describe(err)}`);
      this.dropLease();
      this.endTerm?.(`the etcd lease was lost (${describe(err)})`);
    });
    lease.on('keepaliveFired', () => {
      this.keepaliveFiredAt = performance.now();
    });
    lease.on('keepaliveSucceeded', () => {
      this.leaseValidUntil = this.keepaliveFiredAt + this.o.cfg.leaseTtl;
    });
    const askedAt = performance.now();
    this.lease = lease;
    try {
      this.leaseId = await this.t('a lease grant', lease.grant());
    } catch (err) {
      this.dropLease();
      throw err;
    }
    this.leaseValidUntil = askedAt + this.o.cfg.leaseTtl;
  }

  private dropLease(): void {
    const l = this.lease;
    this.lease = null;
    this.leaseId = null;
    if (l) void l.revoke().catch(() => undefined);
  }

  private async readLeader(): Promise<LeaderName | null> {
    const v = await this.t('a read of the leader key', this.client.get(this.keys.leader).string());
    if (v === null) return null;
    try {
      return JSON.parse(v) as LeaderName;
    } catch {
      return { party: 'arbitrator:0' as PartyId, host: '?', port: 0, incarnation: 0 };
    }
  }

  private async campaign(): Promise<number | null> {
    const leaseId = this.leaseId;
    if (!leaseId) return null;
    const res = await this.t(
      'the leader election',
      this.client
        .if(this.keys.leader, 'Create', '==', 0)
        .then(this.client.put(this.keys.leader).value(JSON.stringify(this.o.self)).lease(leaseId))
        .commit(),
    );
    if (!res.succeeded) return null;
    return Number(res.header.revision);
  }

  /** One term as leader: load (and maybe seed) the records, report, wait for the end. */
  private async lead(token: number): Promise<void> {
    this.token = token;
    let why = '';
    const ended = new Promise<string>((resolve) => {
      this.endTerm = resolve;
    });
    const watchdog = setInterval(() => {
      const left = this.leaseValidUntil - this.o.cfg.requestTimeout - performance.now();
      if (left <= 0) this.endTerm?.(`the etcd lease could not be renewed in time (last renewal ${((performance.now() - this.leaseValidUntil + this.o.cfg.leaseTtl) / 1000).toFixed(1)} s ago)`);
    }, 100);
    try {
      let { records } = await this.load();
      let imported = false;
      if (this.o.seed && (await this.isEmpty())) {
        imported = await this.importSeed(this.o.seed, token);
        if (imported) records = (await this.load()).records;
      }
      this.o.onStatus({ kind: 'leading', token, records, imported });
      why = await ended;
      this.o.logger.warn({ event: 'leadership_ended', token, reason: why }, `no longer leading (token ${token}): ${why}`);
    } finally {
      clearInterval(watchdog);
      this.token = null;
      this.endTerm = null;
      this.lastRevision = null;
    }
    // Let another arbitrator lead at once rather than after the TTL (unless we are gone already).
    const leaseId = this.leaseId;
    this.dropLease();
    if (leaseId) await this.t('a step-down', this.client.if(this.keys.leader, 'Create', '==', token).then(this.client.delete().key(this.keys.leader)).commit()).catch(() => undefined);
    if (!this.stopped) this.o.onStatus({ kind: 'unavailable', problem: `stepped down: ${why || 'the term ended'}; reading the store again` });
  }

  private async follow(leader: LeaderName | null): Promise<void> {
    const rev = (await this.t('a read of the store revision', this.client.get(this.keys.record('none')).exec())).header.revision;
    if (rev === this.lastRevision) {
      this.o.onStatus({ kind: 'following', leader, records: null });
      return;
    }
    const { records } = await this.load();
    this.lastRevision = rev;
    this.o.onStatus({ kind: 'following', leader, records });
  }

  private async isEmpty(): Promise<boolean> {
    const r = await this.t('a read of the records', this.client.getAll().prefix(`${this.keys.prefix}/`).count());
    return r <= 1; // the leader key only
  }

  /** Every record, read in one transaction (one revision), checked as the local records are. */
  private async load(): Promise<{ records: ArbitratorRecords; revision: string }> {
    const res = await this.t(
      'a read of the records',
      this.client
        .if(this.keys.leader, 'Version', '>', -1)
        .then(this.client.getAll().prefix(this.keys.records), this.client.getAll().prefix(this.keys.decisions), this.client.getAll().prefix(this.keys.slots))
        .commit(),
    );
    const kvs = (i: number): IKeyValue[] => (res.responses[i]?.response_range?.kvs ?? []) as IKeyValue[];
    const byName = new Map<string, unknown>();
    const parse = (kv: IKeyValue): unknown => {
      try {
        return JSON.parse(str(kv.value));
      } catch {
        return { damaged: str(kv.key) };
      }
    };
    for (const kv of kvs(0)) byName.set(str(kv.key).slice(this.keys.records.length), parse(kv));
    const decisions = kvs(1).map(parse);
    const records = loadArbitratorRecords((k) => {
      if (k === RECORD_KEYS.decisions) return decisions.length ? decisions : undefined;
      return byName.get(k.replace(/^arbitrator\./, ''));
    });
    records.decisions.sort((a, b) => a.decidedAt - b.decidedAt || (a.id < b.id ? -1 : 1));
    this.written = new Map(records.decisions.map((d) => [d.id, JSON.stringify(d)]));
    this.slots = new Map(kvs(2).map((kv) => [str(kv.key).slice(this.keys.slots.length), str(kv.value)]));
    return { records, revision: String(res.header.revision) };
  }

  private async importSeed(seed: ArbitratorRecords, token: number): Promise<boolean> {
    const ops = [
      ...this.recordPuts(seed),
      ...seed.decisions.map((d) => this.client.put(this.keys.decision(d.id)).value(JSON.stringify(d))),
      // One put per slot (etcd refuses a transaction that puts one key twice).
      ...[...slotHolders(seed.decisions)].map(([key, id]) => this.client.put(this.keys.slot(key)).value(id)),
      this.client.put(this.keys.record('origin')).value(JSON.stringify({ importedFrom: 'local', by: this.o.self.party, records: seed.decisions.length })),
    ];
    if (ops.length > 120) throw new StoreWriteError(`the local records are too many to import in one transaction (${ops.length} operations)`);
    const res = await this.t(
      'the import of the local records',
      this.client
        .if(this.keys.leader, 'Create', '==', token)
        .and(this.keys.record('origin'), 'Create', '==', 0)
        .then(...ops)
        .commit(),
    );
    if (res.succeeded)
      this.o.logger.warn(
        { event: 'etcd_imported', decisions: seed.decisions.length },
        `etcd held no records for this site: imported the local state file's (${seed.decisions.length} decision(s), drains, pause, writer)`,
      );
    return res.succeeded;
  }

  private recordPuts(r: ArbitratorRecords) {
    return [
      this.client.put(this.keys.record('directives')).value(JSON.stringify(r.directives)),
      this.client.put(this.keys.record('lastPrimary')).value(JSON.stringify(r.lastPrimary)),
      this.client.put(this.keys.record('nodes')).value(JSON.stringify(r.nodes)),
    ];
  }

  /**
   * Writes one persisted record as the leader of term `token`; resolves only when etcd has
   * committed it, rejects (StoreWriteError) when it did not — then nothing that depends on it
   * may be sent.
   */
  async write(key: string, value: unknown, token: number): Promise<void> {
    if (this.token !== token) throw new StoreWriteError(`not leading term ${token} any more`);
    const txn = this.client.if(this.keys.leader, 'Create', '==', token);
    const ops = [];
    const slotsAfter = new Map<string, string>();
    const writtenAfter = new Map<string, string | null>();
    if (key === RECORD_KEYS.decisions) {
      // What the core believes (decision-guards.ts): each new promotion's slot is free, or holds
      // the newest refused decision for that key. Anything else in etcd (a decision another
      // leader made meanwhile, one not refused) fails the transaction.
      const plan = planDecisionWrite(value as DecisionRecord[], this.written);
      for (const c of plan.compares) {
        const slot = this.keys.slot(c.key);
        if (c.holder === null) txn.and(slot, 'Create', '==', 0);
        else txn.and(slot, 'Value', '==', c.holder);
      }
      for (const p of plan.slotPuts) {
        const slot = this.keys.slot(p.key);
        ops.push(this.client.put(slot).value(p.id));
        slotsAfter.set(slot.slice(this.keys.slots.length), p.id);
      }
      for (const p of plan.puts) {
        ops.push(this.client.put(this.keys.decision(p.id)).value(p.json));
        writtenAfter.set(p.id, p.json);
      }
      for (const id of plan.deletes) {
        ops.push(this.client.delete().key(this.keys.decision(id)));
        writtenAfter.set(id, null);
      }
    } else {
      const name = key.replace(/^arbitrator\./, '');
      ops.push(this.client.put(this.keys.record(name)).value(JSON.stringify(value)));
    }
    if (ops.length === 0) return;
    let res: Awaited<ReturnType<typeof txn.commit>>;
    try {
      res = await this.t(`the write of ${key}`, txn.then(...ops).commit());
    } catch (err) {
      throw new StoreWriteError(`etcd did not commit ${key}: ${describe(err)}`);
    }
    if (!res.succeeded) throw new StoreWriteError(await this.whyRefused(token, slotsAfter));
    for (const [s, id] of slotsAfter) this.slots.set(s, id);
    for (const [id, json] of writtenAfter) {
      if (json === null) this.written.delete(id);
      else this.written.set(id, json);
    }
  }

  private async whyRefused(token: number, slots: Map<string, string>): Promise<string> {
    try {
      const leader = await this.t('a read of the leader key', this.client.get(this.keys.leader).exec());
      const kv = leader.kvs[0];
      if (!kv || Number(kv.create_revision) !== token)
        return `etcd refused the write: this arbitrator no longer leads (token ${token}; the leader key is ${kv ? `${str(kv.value)} at ${kv.create_revision}` : 'absent'})`;
      for (const [s, mine] of slots) {
        const held = await this.t('a read of a decision slot', this.client.get(`${this.keys.slots}${s}`).string());
        if (held !== null && held !== mine) return `etcd refused the decision: the last primary component it spends is already spent by ${held} (another arbitrator decided first)`;
      }
      return 'etcd refused the write (compare failed)';
    } catch (err) {
      return `etcd refused the write, and the reason could not be read: ${describe(err)}`;
    }
  }

  /** The operator's log, appended by the leader (best effort: a failure is logged, nothing waits on it). */
  async appendJournal(entries: JournalEntry[], token: number): Promise<void> {
    if (entries.length === 0) return;
    const ops = entries.map((e) => this.client.put(this.keys.journalEntry(e.at, this.journalSeq++ % 10_000)).value(JSON.stringify({ ...e, by: this.o.self.party })));
    await this.t(
      'a journal write',
      this.client
        .if(this.keys.leader, 'Create', '==', token)
        .then(...ops)
        .commit(),
    );
  }
}
