// HAProxy adapter: drives server states through the runtime API (`stats socket … level admin`).
// Every call reads what HAProxy does now and sends only the difference, so a reload or restart
// (which resets servers to the config file's states) is repaired by the next apply.

import { z } from 'zod';
import { HAPROXY_NAME, type ServerNow, classifyReply, effectiveAdminState, isOperational, isValidWeight, parseServersState, parseStatCsv, planServer } from './haproxy-parse.js';
import { SerialQueue } from './serial.js';
import { SocketRequester } from './socket-request.js';
import { type ApplyOutcome, type DesiredLb, type DesiredServer, type LbLogger, type LoadBalancerAdapter, type LogicalBackend, type ObservedServer, LbError, outcome } from './types.js';

export interface HaproxyAdapterOptions {
  socketPath: string;
  writeBackend: string;
  readBackend: string;
  /** party id → HAProxy server name; the same name in both backends. */
  servers: Record<string, string>;
  /** Bound on each runtime API call (connect + reply). Default 2000 ms. */
  timeoutMs?: number;
  logger?: LbLogger;
}

const DEFAULT_TIMEOUT_MS = 2000;
// `show stat` for one backend is ~1 KB per server; this leaves room for thousands.
const MAX_REPLY_BYTES = 4 * 1024 * 1024;
const PEER = 'HAProxy runtime API';

const haproxyName = z.string().regex(HAPROXY_NAME, 'HAProxy names are 1-64 of [A-Za-z0-9_.:-]');
const optionsSchema = z.object({
  socketPath: z.string().min(1),
  writeBackend: haproxyName,
  readBackend: haproxyName,
  servers: z.record(z.string().min(1), haproxyName),
  timeoutMs: z.number().int().positive().max(60_000).optional(),
});

const desiredServerSchema = z.object({
  server: z.string().min(1),
  state: z.enum(['ready', 'drain', 'maint']),
  weight: z.number(),
  shutdownSessions: z.boolean(),
});
const desiredSchema = z.object({ write: z.array(desiredServerSchema), read: z.array(desiredServerSchema) });

/** One backend as HAProxy shows it now, or null when HAProxy has no such backend. */
type BackendNow = Map<string, ServerNow> | null;

export class HaproxyAdapter implements LoadBalancerAdapter {
  readonly kind = 'haproxy' as const;
  private readonly socketPath: string;
  private readonly backends: Readonly<Record<LogicalBackend, string>>;
  private readonly servers: ReadonlyMap<string, string>;
  private readonly timeoutMs: number;
  private readonly logger: LbLogger | undefined;
  private readonly requester = new SocketRequester();
  private readonly queue: SerialQueue;

  constructor(options: HaproxyAdapterOptions) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new TypeError(`invalid HaproxyAdapter options: ${z.prettifyError(parsed.error)}`);
    }
    this.socketPath = parsed.data.socketPath;
    this.backends = { write: parsed.data.writeBackend, read: parsed.data.readBackend };
    this.servers = new Map(Object.entries(parsed.data.servers));
    this.timeoutMs = parsed.data.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.logger = options.logger;
    this.queue = new SerialQueue(`HAProxy adapter for ${this.socketPath} is closed`);
  }

  observe(): Promise<ObservedServer[]> {
    return this.queue.run(() => this.observeNow());
  }

  apply(desired: DesiredLb): Promise<ApplyOutcome> {
    const parsed = desiredSchema.safeParse(desired);
    if (!parsed.success) {
      return Promise.reject(new TypeError(`invalid desired LB state: ${z.prettifyError(parsed.error)}`));
    }
    return this.queue.run(() => this.applyNow(parsed.data));
  }

  /** Ends calls in flight with LB_UNREACHABLE and refuses new ones. */
  async close(): Promise<void> {
    const closing = this.queue.close();
    this.requester.close(`HAProxy adapter for ${this.socketPath} was closed`);
    await closing;
  }

  private command(line: string): Promise<string> {
    return this.requester.request({
      endpoint: { path: this.socketPath },
      line,
      timeoutMs: this.timeoutMs,
      maxReplyBytes: MAX_REPLY_BYTES,
      peer: PEER,
    });
  }

  /** Reads one backend: admin/op state and weight from `show servers state`, sessions from `show stat`. */
  private async readBackend(backend: string): Promise<BackendNow> {
    const stateReply = await this.command(`show servers state ${backend}`);
    if (classifyReply(stateReply) === 'unknown-target') return null;
    const rows = parseServersState(stateReply).filter((r) => r.backend === backend);
    const statReply = await this.command(`show stat ${backend} 4 -1`);
    if (classifyReply(statReply) === 'unknown-target') return null;
    const sessions = new Map(
      parseStatCsv(statReply)
        .filter((r) => r.backend === backend)
        .map((r) => [r.server, r.sessions]),
    );
    const out = new Map<string, ServerNow>();
    for (const row of rows) {
      // A server missing from `show stat` can only be one added or deleted between the two
      // commands; 0 sessions is the honest reading of "not there".
      out.set(row.server, {
        adminBits: row.adminBits,
        opState: row.opState,
        userWeight: row.userWeight,
        sessions: sessions.get(row.server) ?? 0,
      });
    }
    return out;
  }

  private async observeNow(): Promise<ObservedServer[]> {
    const observed: ObservedServer[] = [];
    for (const logical of ['write', 'read'] as const) {
      const now = await this.readBackend(this.backends[logical]);
      for (const [party, name] of this.servers) {
        const s = now?.get(name);
        observed.push(
          s
            ? {
                backend: logical,
                server: party,
                state: effectiveAdminState(s.adminBits),
                operational: isOperational(s.opState),
                weight: s.userWeight,
                sessions: s.sessions,
              }
            : { backend: logical, server: party, state: 'unknown', operational: false, weight: 0, sessions: 0 },
        );
      }
    }
    return observed;
  }

  private async applyNow(desired: DesiredLb): Promise<ApplyOutcome> {
    const commands: string[] = [];
    const failures: LbError[] = [];
    let changed = 0;
    for (const logical of ['write', 'read'] as const) {
      const list = desired[logical];
      if (list.length === 0) continue;
      const backend = this.backends[logical];
      const now = await this.readBackend(backend);
      const seen = new Set<string>();
      for (const want of list) {
        const plan = this.planFor(backend, now, want, seen, failures);
        if (plan.length === 0) continue;
        if (await this.send(plan, commands, failures)) changed++;
      }
    }
    return outcome(changed, commands, failures);
  }

  /** Commands for one desired server, or none (with the reason added to `failures`). */
  private planFor(backend: string, now: BackendNow, want: DesiredServer, seen: Set<string>, failures: LbError[]): string[] {
    const fail = (code: LbError['code'], msg: string): string[] => {
      failures.push(new LbError(code, msg));
      this.logger?.warn({ backend, party: want.server, code }, msg);
      return [];
    };
    if (seen.has(want.server)) return fail('LB_PROTOCOL', `party ${want.server} is listed twice for backend ${backend}; the first entry was applied`);
    seen.add(want.server);
    const name = this.servers.get(want.server);
    if (name === undefined) return fail('LB_UNKNOWN_SERVER', `party ${want.server} has no HAProxy server name in the adapter's servers map`);
    if (now === null) return fail('LB_UNKNOWN_SERVER', `HAProxy has no backend '${backend}' (party ${want.server})`);
    const current = now.get(name);
    if (current === undefined) return fail('LB_UNKNOWN_SERVER', `HAProxy has no server '${backend}/${name}' (party ${want.server})`);
    if (!isValidWeight(want.weight)) return fail('LB_PROTOCOL', `weight ${want.weight} for ${backend}/${name} is not an integer in 0..256`);
    return planServer(backend, name, current, want);
  }

  /** Sends the commands for one server; true when at least one took effect. */
  private async send(plan: string[], commands: string[], failures: LbError[]): Promise<boolean> {
    let anyOk = false;
    for (const line of plan) {
      commands.push(line);
      const reply = await this.command(line);
      const kind = classifyReply(reply);
      if (kind === 'ok') {
        anyOk = true;
        this.logger?.debug({ command: line }, 'haproxy command applied');
        continue;
      }
      const msg = `HAProxy refused '${line}': ${reply.trim().slice(0, 200)}`;
      failures.push(new LbError(kind === 'unknown-target' ? 'LB_UNKNOWN_SERVER' : 'LB_PROTOCOL', msg));
      this.logger?.warn({ command: line }, msg);
    }
    return anyOk;
  }
}
