// glb (Galera Load Balancer, codership/glb) adapter: drives glbd's destination table through its
// control socket. glbd has one pool and no read/write split, so the adapter follows ONE logical
// backend of the desired state (`pool`, default 'write': the single writer, which is what keeps
// an application that sends everything through glbd free of multi-writer conflicts). A site that
// wants both runs two glbd instances, each with its own adapter. See docs/load-balancers.md.

import { z } from 'zod';
import {
  type GlbDestination,
  type GlbReply,
  glbAdminState,
  isInfoComplete,
  isLineComplete,
  isValidGlbWeight,
  normaliseAddress,
  parseChangeReply,
  parseRouterInfo,
  planDestination,
} from './glb-protocol.js';
import { SerialQueue } from './serial.js';
import { type Endpoint, SocketRequester, describeEndpoint } from './socket-request.js';
import { type ApplyOutcome, type DesiredLb, type DesiredServer, type LbLogger, type LoadBalancerAdapter, type LogicalBackend, type ObservedServer, LbError, outcome } from './types.js';

export interface GlbAdapterOptions {
  /**
   * glbd's control address (`glbd -c HOST:PORT`), or a unix stream socket speaking the same
   * protocol. glbd's FIFO (`-f`) cannot be used: it never answers, so nothing could be observed.
   */
  control: { host: string; port: number } | { path: string };
  /** party id → 'IP:PORT' of that node as glbd should route to it (IPv4, as glbd requires). */
  servers: Record<string, string>;
  /** Which logical backend glbd's single pool follows. Default 'write'. */
  pool?: LogicalBackend;
  /** Bound on each control call (connect + reply). Default 2000 ms. */
  timeoutMs?: number;
  logger?: LbLogger;
}

const DEFAULT_TIMEOUT_MS = 2000;
// glbd builds its reply in a BUFSIZ (8 KiB) buffer; anything much larger is not glbd.
const MAX_REPLY_BYTES = 64 * 1024;
const PEER = 'glbd control';

const optionsSchema = z.object({
  control: z.union([z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict(), z.object({ path: z.string().min(1) }).strict()]),
  servers: z.record(
    z.string().min(1),
    z.string().refine((a) => normaliseAddress(a) !== null, 'must be IPv4 IP:PORT, as glbd prints destinations'),
  ),
  pool: z.enum(['write', 'read']).optional(),
  timeoutMs: z.number().int().positive().max(60_000).optional(),
});

const desiredServerSchema = z.object({
  server: z.string().min(1),
  state: z.enum(['ready', 'drain', 'maint']),
  weight: z.number(),
  shutdownSessions: z.boolean(),
});
const desiredSchema = z.object({ write: z.array(desiredServerSchema), read: z.array(desiredServerSchema) });

export class GlbAdapter implements LoadBalancerAdapter {
  readonly kind = 'glb' as const;
  readonly pool: LogicalBackend;
  private readonly endpoint: Endpoint;
  private readonly servers: ReadonlyMap<string, string>;
  private readonly timeoutMs: number;
  private readonly logger: LbLogger | undefined;
  private readonly requester = new SocketRequester();
  private readonly queue: SerialQueue;

  constructor(options: GlbAdapterOptions) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) throw new TypeError(`invalid GlbAdapter options: ${z.prettifyError(parsed.error)}`);
    this.endpoint = parsed.data.control;
    this.servers = new Map(Object.entries(parsed.data.servers).map(([party, addr]) => [party, normaliseAddress(addr) ?? addr]));
    this.pool = parsed.data.pool ?? 'write';
    this.timeoutMs = parsed.data.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.logger = options.logger;
    this.queue = new SerialQueue(`glb adapter for ${describeEndpoint(this.endpoint)} is closed`);
  }

  observe(): Promise<ObservedServer[]> {
    return this.queue.run(() => this.observeNow());
  }

  apply(desired: DesiredLb): Promise<ApplyOutcome> {
    const parsed = desiredSchema.safeParse(desired);
    if (!parsed.success) {
      return Promise.reject(new TypeError(`invalid desired LB state: ${z.prettifyError(parsed.error)}`));
    }
    return this.queue.run(() => this.applyNow(parsed.data[this.pool]));
  }

  async close(): Promise<void> {
    const closing = this.queue.close();
    this.requester.close(`glb adapter for ${describeEndpoint(this.endpoint)} was closed`);
    await closing;
  }

  private call(line: string, isComplete: (reply: string) => boolean): Promise<string> {
    return this.requester.request({
      endpoint: this.endpoint,
      line,
      timeoutMs: this.timeoutMs,
      maxReplyBytes: MAX_REPLY_BYTES,
      peer: PEER,
      isComplete,
    });
  }

  private async table(): Promise<Map<string, GlbDestination>> {
    const info = parseRouterInfo(await this.call('getinfo', isInfoComplete));
    return new Map(info.destinations.map((d) => [d.address, d]));
  }

  private async observeNow(): Promise<ObservedServer[]> {
    const table = await this.table();
    return [...this.servers].map(([party, address]): ObservedServer => {
      const entry = table.get(address);
      return {
        backend: this.pool,
        server: party,
        state: glbAdminState(entry),
        // glbd does not expose health (its watchdog acts on the table itself): a destination in
        // the table is one glbd will route to.
        operational: entry !== undefined,
        weight: entry?.weight ?? 0,
        sessions: entry?.conns ?? 0,
      };
    });
  }

  private async applyNow(list: DesiredServer[]): Promise<ApplyOutcome> {
    const commands: string[] = [];
    const failures: LbError[] = [];
    if (list.length === 0) return outcome(0, commands, failures);
    const table = await this.table();
    const seen = new Set<string>();
    let changed = 0;
    for (const want of list) {
      const plan = this.planFor(table, want, seen, failures);
      if (plan.length > 0 && (await this.send(plan, commands, failures))) changed++;
    }
    return outcome(changed, commands, failures);
  }

  private planFor(table: Map<string, GlbDestination>, want: DesiredServer, seen: Set<string>, failures: LbError[]): string[] {
    const fail = (code: LbError['code'], msg: string): string[] => {
      failures.push(new LbError(code, msg));
      this.logger?.warn({ party: want.server, code }, msg);
      return [];
    };
    if (seen.has(want.server)) return fail('LB_PROTOCOL', `party ${want.server} is listed twice; the first entry was applied`);
    seen.add(want.server);
    const address = this.servers.get(want.server);
    if (address === undefined) return fail('LB_UNKNOWN_SERVER', `party ${want.server} has no glbd destination in the adapter's servers map`);
    if (!isValidGlbWeight(want.weight)) return fail('LB_PROTOCOL', `weight ${want.weight} for ${address} is not an integer in 0..1000000`);
    return planDestination(address, table.get(address), want);
  }

  /** Sends one server's commands in order; stops at the first refusal (the rest depend on it). */
  private async send(plan: string[], commands: string[], failures: LbError[]): Promise<boolean> {
    let anyOk = false;
    for (const line of plan) {
      commands.push(line);
      const reply = await this.call(line, isLineComplete);
      let kind: GlbReply;
      try {
        kind = parseChangeReply(reply);
      } catch (err) {
        if (!(err instanceof LbError)) throw err;
        failures.push(err);
        break;
      }
      if (kind === 'ok') {
        anyOk = true;
        this.logger?.debug({ command: line }, 'glbd command applied');
        continue;
      }
      const msg = `glbd refused '${line}' at ${describeEndpoint(this.endpoint)}`;
      failures.push(new LbError('LB_PROTOCOL', msg));
      this.logger?.warn({ command: line }, msg);
      break;
    }
    return anyOk;
  }
}
