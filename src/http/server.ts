import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { MinderError } from '../errors.js';

/**
 * The read-only HTTP door every long-lived party may open (site config `http`; docs/observability.md).
 * It serves GET and HEAD only, and everything about a request is bounded: header bytes, the time
 * to send the headers and the whole request, idle keep-alive time, open connections, and what a
 * slow reader may leave unread in a stream. What breaks a bound or the protocol gets a clear 4xx
 * (when the socket can still take it) and is counted by reason; none of it reaches the party's
 * UDP work beyond the CPU it costs to refuse.
 */

export interface HttpLimits {
  /** Request line plus headers. */
  maxHeaderBytes: number;
  /** From the connection's first byte to the end of the headers (slow-header clients). */
  headersTimeoutMs: number;
  /** The whole request. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  /** A stream (server-sent events) whose reader leaves more than this unread is closed. */
  maxStreamBacklogBytes: number;
  maxRequestsPerSocket: number;
}

export const DEFAULT_LIMITS: HttpLimits = {
  maxHeaderBytes: 8192,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5000,
  maxConnections: 64,
  maxStreamBacklogBytes: 256 * 1024,
  maxRequestsPerSocket: 1000,
};

export const BAD_REASONS = ['malformed', 'header_too_large', 'timeout', 'method', 'not_found', 'unauthorized', 'body', 'connection_limit', 'slow_reader'] as const;
export type BadReason = (typeof BAD_REASONS)[number];

/** What the server counts (src/metrics/ turns it into Prometheus counters). */
export interface HttpCounters {
  request(route: string, status: number): void;
  bad(reason: BadReason): void;
}

export interface Reply {
  status: number;
  body: string;
  type?: string;
  headers?: Record<string, string>;
}

export interface RouteRequest {
  /** The path without the query. */
  path: string;
  /** For a prefix route: what follows the prefix (URL-decoded). */
  rest: string;
  query: URLSearchParams;
  req: IncomingMessage;
  res: ServerResponse;
  head: boolean;
}

/** A stream the route keeps writing to (server-sent events); the server bounds its backlog. */
export interface Stream {
  write(chunk: string): boolean;
  onClose(f: () => void): void;
  close(): void;
}

export interface StreamReply {
  stream: (s: Stream) => void;
  headers: Record<string, string>;
}

export interface Route {
  /** The metric label: a fixed name, never the path as sent. */
  name: string;
  path: string;
  /** `path` is a prefix (ends in '/'): /v1/parties/<id>. */
  prefix?: boolean;
  /** Behind the bearer token when one is configured. */
  auth?: boolean;
  handle(r: RouteRequest): Reply | Promise<Reply> | StreamReply;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  routes: Route[];
  counters: HttpCounters;
  logger: Logger;
  /** The bearer token's value when the API is behind one. */
  token?: string | null;
  limits?: Partial<HttpLimits>;
}

export class HttpServerError extends MinderError {
  declare readonly code: 'HTTP_LISTEN';
  constructor(message: string) {
    super('HTTP_LISTEN', message);
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function plain(status: number, text: string, headers: Record<string, string> = {}): Reply {
  return { status, body: `${text}\n`, type: 'text/plain; charset=utf-8', headers };
}

export class HttpServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly streams = new Set<Stream>();
  private readonly limits: HttpLimits;
  private readonly tokenDigest: Buffer | null;

  private constructor(private readonly o: HttpServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.tokenDigest = o.token ? digest(o.token) : null;
    const l = this.limits;
    this.server = createServer(
      { maxHeaderSize: l.maxHeaderBytes, headersTimeout: l.headersTimeoutMs, requestTimeout: l.requestTimeoutMs, keepAliveTimeout: l.keepAliveTimeoutMs, connectionsCheckingInterval: 1000 },
      (req, res) => this.onRequest(req, res),
    );
    this.server.maxConnections = l.maxConnections;
    this.server.maxRequestsPerSocket = l.maxRequestsPerSocket;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('drop', () => o.counters.bad('connection_limit'));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.onClientError(err, socket));
  }

  static async listen(o: HttpServerOptions): Promise<HttpServer> {
    const s = new HttpServer(o);
    await new Promise<void>((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException) => reject(new HttpServerError(`cannot serve HTTP on ${o.host}:${o.port}: ${err.code ?? err.message}`));
      s.server.once('error', fail);
      s.server.listen(o.port, o.host, () => {
        s.server.off('error', fail);
        resolve();
      });
    });
    return s;
  }

  get address(): { host: string; port: number } {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host: this.o.host, port: this.o.port };
  }

  /** Open streams right now (server-sent events). */
  get streamCount(): number {
    return this.streams.size;
  }

  async close(): Promise<void> {
    for (const st of [...this.streams]) st.close();
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    let status = 400;
    let reason: BadReason = 'malformed';
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      reason = 'header_too_large';
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ETIMEDOUT') {
      status = 408;
      reason = 'timeout';
    } else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      // The client went away: nothing to answer, nothing it did wrong that we can tell.
      socket.destroy();
      return;
    }
    this.o.counters.bad(reason);
    if (socket.writable) {
      const text = `${status} ${STATUS_CODES[status]}: ${reason === 'malformed' ? `malformed request (${err.code ?? 'parse error'})` : reason.replace('_', ' ')}\n`;
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    }
    socket.destroySoon?.();
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private send(res: ServerResponse, route: string, r: Reply, head: boolean): void {
    this.o.counters.request(route, r.status);
    const body = Buffer.from(r.body);
    res.writeHead(r.status, {
      'content-type': r.type ?? 'text/plain; charset=utf-8',
      'content-length': String(body.length),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...r.headers,
    });
    res.end(head ? undefined : body);
  }

  private authorised(req: IncomingMessage): boolean {
    if (this.tokenDigest === null) return true;
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    return m !== null && timingSafeEqual(digest(m[1] as string), this.tokenDigest);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      this.o.counters.bad('method');
      this.send(
        res,
        'unknown',
        plain(405, `405 Method Not Allowed: ${String(req.method).slice(0, 16)}; this server is read-only (GET, HEAD). Changes go through minder command.`, { allow: 'GET, HEAD' }),
        false,
      );
      req.resume();
      return;
    }
    const len = req.headers['content-length'];
    if ((len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined) {
      this.o.counters.bad('body');
      this.send(res, 'unknown', plain(400, '400 Bad Request: a GET carries no body here', { connection: 'close' }), head);
      req.destroy();
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://minder.invalid');
    } catch {
      this.o.counters.bad('malformed');
      this.send(res, 'unknown', plain(400, '400 Bad Request: the request target is not a path'), head);
      return;
    }
    const path = url.pathname;
    const route = this.o.routes.find((r) => (r.prefix ? path.startsWith(r.path) : path === r.path));
    if (!route) {
      this.o.counters.bad('not_found');
      this.send(
        res,
        'unknown',
        plain(
          404,
          `404 Not Found: ${path.slice(0, 100)}; try ${this.o.routes
            .filter((r) => !r.prefix)
            .map((r) => r.path)
            .join(', ')}`,
        ),
        head,
      );
      return;
    }
    if (route.auth && !this.authorised(req)) {
      this.o.counters.bad('unauthorized');
      this.send(
        res,
        route.name,
        plain(401, '401 Unauthorized: this API needs "Authorization: Bearer <token>" (the token in the arbitrator\'s http.tokenFile)', { 'www-authenticate': 'Bearer realm="minder"' }),
        head,
      );
      return;
    }
    let rest = '';
    if (route.prefix) {
      try {
        rest = decodeURIComponent(path.slice(route.path.length));
      } catch {
        this.o.counters.bad('malformed');
        this.send(res, route.name, plain(400, '400 Bad Request: bad percent-encoding in the path'), head);
        return;
      }
    }
    let out: ReturnType<Route['handle']>;
    try {
      out = route.handle({ path, rest, query: url.searchParams, req, res, head });
    } catch (err) {
      this.o.logger.error({ event: 'http_handler_failed', route: route.name, reason: (err as Error).message }, `HTTP ${route.name} failed: ${(err as Error).message}`);
      this.send(res, route.name, plain(500, '500 Internal Server Error (logged)'), head);
      return;
    }
    if (out instanceof Promise) {
      out.then(
        (r) => this.send(res, route.name, r, head),
        (err: unknown) => {
          this.o.logger.error({ event: 'http_handler_failed', route: route.name, reason: (err as Error).message }, `HTTP ${route.name} failed: ${(err as Error).message}`);
          if (!res.headersSent) this.send(res, route.name, plain(500, '500 Internal Server Error (logged)'), head);
        },
      );
    } else if ('stream' in out) this.openStream(route.name, res, out, head);
    else this.send(res, route.name, out, head);
  }

  private openStream(route: string, res: ServerResponse, out: StreamReply, head: boolean): void {
    this.o.counters.request(route, 200);
    res.writeHead(200, { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...out.headers });
    if (head) {
      res.end();
      return;
    }
    // A stream is meant to stay open: the request timeouts are for requests, not for this.
    res.socket?.setTimeout(0);
    const closers: Array<() => void> = [];
    let open = true;
    const max = this.limits.maxStreamBacklogBytes;
    const stream: Stream = {
      write: (chunk) => {
        if (!open) return false;
        if (res.writableLength > max) {
          this.o.counters.bad('slow_reader');
          stream.close();
          return false;
        }
        return res.write(chunk);
      },
      onClose: (f) => void closers.push(f),
      close: () => {
        if (!open) return;
        open = false;
        this.streams.delete(stream);
        res.destroy();
        for (const f of closers) f();
      },
    };
    this.streams.add(stream);
    res.on('close', () => stream.close());
    out.stream(stream);
  }
}
