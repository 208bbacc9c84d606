// GLB STAND-IN — not glbd. glbd (codership/glb) is not packaged for Debian, so it cannot run in
// this lab. This is a control-plane stand-in that speaks glbd's documented control protocol
// (README "RUNTIME MANAGEMENT", src/glb_control.c, src/glb_router.c) so the glb adapter can be
// tested over a real socket. It keeps a router table and answers as glbd does; it forwards no
// traffic. Client connections "routed" to a destination are simulated with setConnections().
//
// Protocol as implemented here (and by glbd ≥ 1.0):
//   `IP:PORT[:WEIGHT]`  add a destination (default weight 1) or set its weight → `Ok`
//                       weight 0 drains it (stays in the table, no new connections);
//                       a negative weight removes it and drops its connections → `Ok`,
//                       or `Error` when it is not in the table
//   `getinfo`           the router table (format of glb_router_print_info, least-connected
//                       policy: the map column reads N/A), ending with the Destinations line
//   `getstat`           one line of traffic counters (all zero: nothing is forwarded)
//   anything else       `Error`
// Connections stay open for further requests, as in glbd. One difference: glbd treats each
// read() as one request, the stand-in each line; a client that sends one command and waits for
// its reply (the only correct way with glbd) sees no difference.

import { existsSync, unlinkSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';

export type StandinEndpoint = { host: string; port: number } | { path: string };

export interface StandinDestination {
  address: string;
  weight: number;
  conns: number;
}

export interface GlbStandinOptions {
  /** Default: 127.0.0.1 on an ephemeral port. */
  listen?: StandinEndpoint;
  /** Destinations present at start, as glbd's command line gives them: 'IP:PORT[:WEIGHT]'. */
  initial?: string[];
  /** Port used when a command omits it (glbd uses its listen port). Default 3306. */
  defaultPort?: number;
  /** glbd's max_conn, printed in the footer. Default 493 (glbd's figure for ulimit -n 1024). */
  maxConnections?: number;
  /** 'Ok' as glbd ≥ 1.0 answers, or 'OK' as older releases did. */
  okWord?: 'Ok' | 'OK';
}

interface ParsedDestination {
  address: string;
  weight: number;
}

const SPEC = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d{1,5})(?::(-?\d+(?:\.\d+)?))?)?$/;

/** glb_dst_parse: 'IP[:PORT[:WEIGHT]]'. IPv4 literals only (the stand-in resolves no names). */
function parseDestination(spec: string, defaultPort: number): ParsedDestination | null {
  const m = SPEC.exec(spec);
  if (!m) return null;
  const octets = m.slice(1, 5).map(Number);
  const port = m[5] === undefined ? defaultPort : Number(m[5]);
  const weight = m[6] === undefined ? 1 : Number(m[6]);
  if (octets.some((o) => o > 255) || port < 1 || port > 65535) return null;
  return { address: `${octets.join('.')}:${port}`, weight };
}

/** glb_socket_addr_to_string: the ':' sits in column 15, the field is 21 wide. */
function padAddress(address: string): string {
  const [ip = '', port = ''] = address.split(':');
  return `${ip.padStart(15)}:${port}`.padEnd(21);
}

/** printf("%*.3f") including glibc's rendering of 0/0 (a drained destination's usage). */
function fixed(value: number, width: number): string {
  return (Number.isNaN(value) ? '-nan' : value.toFixed(3)).padStart(width);
}

export class GlbStandin {
  /** Every request line received, in order, e.g. for asserting what the adapter sent. */
  readonly received: string[] = [];
  /** Addresses whose connections were dropped by a removal. */
  readonly dropped: string[] = [];
  /** When true, requests are read but never answered (to test client timeouts). */
  silent = false;
  /** Called with each request line before it is handled: lets a test race another client. */
  onRequest: ((line: string) => void) | null = null;
  private readonly table: StandinDestination[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly defaultPort: number;
  private readonly maxConnections: number;
  private readonly okWord: string;

  private constructor(
    private readonly server: Server,
    readonly endpoint: StandinEndpoint,
    options: GlbStandinOptions,
  ) {
    this.defaultPort = options.defaultPort ?? 3306;
    this.maxConnections = options.maxConnections ?? 493;
    this.okWord = options.okWord ?? 'Ok';
    this.reset(options.initial ?? []);
  }

  static async start(options: GlbStandinOptions = {}): Promise<GlbStandin> {
    const listen = options.listen ?? { host: '127.0.0.1', port: 0 };
    if ('path' in listen && existsSync(listen.path)) unlinkSync(listen.path);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if ('path' in listen) server.listen(listen.path, () => resolve());
      else server.listen(listen.port, listen.host, () => resolve());
    });
    const bound: StandinEndpoint = 'path' in listen ? listen : { host: listen.host, port: (server.address() as AddressInfo).port };
    const standin = new GlbStandin(server, bound, options);
    server.on('connection', (sock) => standin.accept(sock));
    return standin;
  }

  /** The table as glbd holds it now (copies). */
  destinations(): StandinDestination[] {
    return this.table.map((d) => ({ ...d }));
  }

  /** Simulates n client connections currently routed to a destination. */
  setConnections(address: string, n: number): void {
    const d = this.table.find((x) => x.address === address);
    if (!d) throw new Error(`stand-in has no destination ${address}`);
    d.conns = n;
  }

  /** What a glbd restart does: the runtime table is lost, the command-line one comes back. */
  reset(initial: string[] = []): void {
    this.table.splice(0);
    for (const spec of initial) {
      const d = parseDestination(spec, this.defaultPort);
      if (!d || d.weight < 0) throw new Error(`bad initial destination '${spec}'`);
      this.table.push({ ...d, conns: 0 });
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.received.push(line.trim());
        this.onRequest?.(line.trim());
        const reply = this.handle(line);
        if (!this.silent) sock.write(reply);
      }
    });
  }

  private handle(raw: string): string {
    // glbd cuts trailing whitespace and matches commands by prefix, case-insensitively.
    const req = raw.replace(/\s+$/, '');
    if (/^getinfo/i.test(req)) return this.info();
    if (/^getstat/i.test(req)) return this.stat();
    const dst = parseDestination(req, this.defaultPort);
    if (dst === null) return 'Error\n';
    return this.change(dst) ? `${this.okWord}\n` : 'Error\n';
  }

  private change(dst: ParsedDestination): boolean {
    const i = this.table.findIndex((d) => d.address === dst.address);
    if (dst.weight < 0) {
      if (i < 0) return false; // glb_router_change_dst: "remove inexisting destination"
      const [gone] = this.table.splice(i, 1);
      if (gone && gone.conns > 0) this.dropped.push(gone.address);
      return true;
    }
    const existing = this.table[i];
    if (existing) existing.weight = dst.weight;
    else this.table.push({ ...dst, conns: 0 });
    return true;
  }

  private info(): string {
    const rule = '------------------------------------------------------';
    const rows = this.table.map((d) => {
      // glb_router.c: usage = weight/(conns+1), printed as 1 - usage/weight.
      const usage = 1 - d.weight / (d.conns + 1) / d.weight;
      return `${padAddress(d.address)} : ${fixed(d.weight, 8)} ${fixed(usage, 7)}    N/A  ${String(d.conns).padStart(5)}`;
    });
    const total = this.table.reduce((n, d) => n + d.conns, 0);
    return [
      'Router:',
      rule,
      '        Address       :   weight   usage    map  conns',
      ...rows,
      rule,
      `Destinations: ${this.table.length}, total connections: ${total} of ${this.maxConnections} max`,
      '',
    ].join('\n');
  }

  private stat(): string {
    const conns = this.table.reduce((n, d) => n + d.conns, 0);
    return `in: 0 out: 0 recv: 0 / 0 send: 0 / 0 conns: 0 / ${conns} poll: 0 / 0 / 0 elapsed: 1.00000\n`;
  }
}
